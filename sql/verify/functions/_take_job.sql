-- Verify pgjobs:functions/_take_job on pg

BEGIN;

SELECT 'app_jobs._take_job(bigint, text)'::pg_catalog.regprocedure;

ROLLBACK;
