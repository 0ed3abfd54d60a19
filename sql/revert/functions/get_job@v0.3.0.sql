-- Revert pgjobs:functions/get_job from pg

BEGIN;

DROP FUNCTION app_jobs.get_job(text, text[], interval);

COMMIT;
