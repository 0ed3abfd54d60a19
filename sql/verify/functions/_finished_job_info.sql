-- Verify pgjobs:functions/_finished_job_info on pg

BEGIN;

SELECT 'app_jobs._finished_job_info(app_jobs.job_history)'::pg_catalog.regprocedure;

ROLLBACK;
