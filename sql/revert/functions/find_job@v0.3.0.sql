-- Revert pgjobs:functions/find_job from pg

BEGIN;

DROP FUNCTION app_jobs.find_job(bigint, uuid, boolean);

COMMIT;
