-- Verify pgjobs:functions/remove_job_limit on pg

BEGIN;

SELECT 'app_jobs.remove_job_limit(text, uuid)'::pg_catalog.regprocedure;

ROLLBACK;
