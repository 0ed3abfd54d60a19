-- Revert pgjobs:functions/_take_job from pg

BEGIN;

DROP FUNCTION app_jobs._take_job(bigint, text);

COMMIT;
