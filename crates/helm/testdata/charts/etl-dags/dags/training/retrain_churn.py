from airflow import DAG
with DAG("retrain_churn", schedule="0 3 * * 1") as dag:
    pass
