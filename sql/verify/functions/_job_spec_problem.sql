-- Verify pgjobs:functions/_job_spec_problem on pg

BEGIN;

SELECT 'app_jobs._job_spec_problem(app_jobs.job_spec, text)'::pg_catalog.regprocedure;

ROLLBACK;
