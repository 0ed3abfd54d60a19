-- Verify pgjobs:functions/rerun_job on pg

BEGIN;

SELECT 'app_jobs.rerun_job(bigint)'::pg_catalog.regprocedure;

ROLLBACK;
