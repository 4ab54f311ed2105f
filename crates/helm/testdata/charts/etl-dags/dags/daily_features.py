from airflow import DAG
# daily feature materialization
with DAG("daily_features", schedule="@daily") as dag:
    pass
