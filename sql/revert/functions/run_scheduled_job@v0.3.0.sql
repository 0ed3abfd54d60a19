-- Revert pgjobs:functions/run_scheduled_job from pg

BEGIN;

DROP FUNCTION app_jobs.run_scheduled_job(bigint);

COMMIT;
