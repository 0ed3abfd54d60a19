-- Verify pgjobs:functions/_police_table on pg

BEGIN;

SELECT 'app_jobs._police_table(regclass)'::pg_catalog.regprocedure;

ROLLBACK;
