-- Verify pgjobs:functions/cancel_job on pg

BEGIN;

SELECT 'app_jobs.cancel_job(bigint)'::pg_catalog.regprocedure;

ROLLBACK;
