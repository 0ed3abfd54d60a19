-- Verify pgjobs:functions/find_scheduled_job on pg

BEGIN;

SELECT 'app_jobs.find_scheduled_job(text, uuid)'::pg_catalog.regprocedure;

ROLLBACK;
