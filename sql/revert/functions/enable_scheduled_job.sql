-- Revert pgjobs:functions/enable_scheduled_job from pg

BEGIN;

DROP FUNCTION app_jobs.enable_scheduled_job(bigint, boolean);

COMMIT;
