-- Verify pgjobs:functions/enable_scheduled_job on pg

BEGIN;

SELECT 'app_jobs.enable_scheduled_job(bigint, boolean)'::pg_catalog.regprocedure;

ROLLBACK;
