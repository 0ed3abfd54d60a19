-- Revert pgjobs:functions/set_job_limit from pg

BEGIN;

DROP FUNCTION app_jobs.set_job_limit(text, uuid, integer, integer, interval);

COMMIT;
