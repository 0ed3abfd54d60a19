-- Verify pgjobs:functions/run_scheduled_job on pg

BEGIN;

SELECT 'app_jobs.run_scheduled_job(bigint)'::pg_catalog.regprocedure;

ROLLBACK;
