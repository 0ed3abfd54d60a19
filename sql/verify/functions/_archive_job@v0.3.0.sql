-- Verify pgjobs:functions/_archive_job on pg

BEGIN;

SELECT 'app_jobs._archive_job(app_jobs.jobs, text, jsonb)'::pg_catalog.regprocedure;

ROLLBACK;
