-- Revert pgjobs:functions/_finished_job_info from pg

BEGIN;

DROP FUNCTION app_jobs._finished_job_info(app_jobs.job_history);

COMMIT;
