-- Revert pgjobs:functions/_live_job_info from pg

BEGIN;

DROP FUNCTION app_jobs._live_job_info(app_jobs.jobs);

COMMIT;
