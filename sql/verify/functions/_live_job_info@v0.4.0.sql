-- Verify pgjobs:functions/_live_job_info on pg

BEGIN;

SELECT 'app_jobs._live_job_info(app_jobs.jobs)'::pg_catalog.regprocedure;

ROLLBACK;
