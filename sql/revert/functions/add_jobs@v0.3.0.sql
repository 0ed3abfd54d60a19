-- Revert pgjobs:functions/add_jobs from pg

BEGIN;

DROP FUNCTION app_jobs.add_jobs(app_jobs.job_spec[]);

COMMIT;
