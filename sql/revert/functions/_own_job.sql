-- Revert pgjobs:functions/_own_job from pg

BEGIN;

DROP FUNCTION app_jobs._own_job(bigint);

COMMIT;
