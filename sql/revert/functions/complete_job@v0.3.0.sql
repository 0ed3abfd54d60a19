-- Revert pgjobs:functions/complete_job from pg

BEGIN;

DROP FUNCTION app_jobs.complete_job(text, bigint, jsonb);

COMMIT;
