-- Verify pgjobs:functions/add_jobs on pg

BEGIN;

SELECT 'app_jobs.add_jobs(app_jobs.job_spec[])'::pg_catalog.regprocedure;

ROLLBACK;
