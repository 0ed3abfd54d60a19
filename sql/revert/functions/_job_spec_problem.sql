-- Revert pgjobs:functions/_job_spec_problem from pg

BEGIN;

DROP FUNCTION app_jobs._job_spec_problem(app_jobs.job_spec, text);

COMMIT;
