-- Verify pgjobs:functions/get_job on pg

BEGIN;

SELECT 'app_jobs.get_job(text, text[], interval)'::pg_catalog.regprocedure;

ROLLBACK;
