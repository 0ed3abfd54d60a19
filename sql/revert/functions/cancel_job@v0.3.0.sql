-- Revert pgjobs:functions/cancel_job from pg

BEGIN;

DROP FUNCTION app_jobs.cancel_job(bigint);

COMMIT;
