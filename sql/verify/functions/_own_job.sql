-- Verify pgjobs:functions/_own_job on pg

BEGIN;

SELECT 'app_jobs._own_job(bigint)'::pg_catalog.regprocedure;

ROLLBACK;
