-- Revert pgjobs:functions/remove_job_limit from pg

BEGIN;

DROP FUNCTION app_jobs.remove_job_limit(text, uuid);

COMMIT;
