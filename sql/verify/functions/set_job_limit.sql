-- Verify pgjobs:functions/set_job_limit on pg

BEGIN;

SELECT 'app_jobs.set_job_limit(text, uuid, integer, integer, interval)'::pg_catalog.regprocedure;

ROLLBACK;
