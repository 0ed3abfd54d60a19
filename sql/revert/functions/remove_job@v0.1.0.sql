-- Revert pgjobs:functions/remove_job from pg

BEGIN;

DROP FUNCTION app_jobs.remove_job(text, uuid);

COMMIT;
