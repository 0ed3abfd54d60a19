-- Revert pgjobs:functions/fail_job from pg

BEGIN;

DROP FUNCTION app_jobs.fail_job(text, bigint, text, boolean, jsonb, jsonb);

COMMIT;
