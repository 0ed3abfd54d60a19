-- Revert pgjobs:functions/watch_job from pg

BEGIN;

DROP FUNCTION app_jobs.watch_job(bigint);

COMMIT;
