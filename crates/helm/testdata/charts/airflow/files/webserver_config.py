from airflow.www.fab_security.manager import AUTH_DB
AUTH_TYPE = AUTH_DB
WTF_CSRF_ENABLED = True
