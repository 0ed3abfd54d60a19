-- Verify pgjobs:functions/remove_job on pg

BEGIN;

SELECT 'app_jobs.remove_job(text, uuid)'::pg_catalog.regprocedure;

ROLLBACK;
