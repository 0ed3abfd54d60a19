-- Verify pgjobs:functions/_release_job on pg

BEGIN;

SELECT 'app_jobs._release_job(app_jobs.jobs, text, boolean)'::pg_catalog.regprocedure;

ROLLBACK;
