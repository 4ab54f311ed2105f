CREATE ROLE readonly NOLOGIN;
GRANT pg_read_all_data TO readonly;
