-- Revert pgjobs:functions/find_scheduled_job from pg

BEGIN;

DROP FUNCTION app_jobs.find_scheduled_job(text, uuid);

COMMIT;
