-- Revert pgjobs:functions/add_job from pg

BEGIN;

DROP FUNCTION app_jobs.add_job(uuid, text, json, text, text, timestamptz, integer, integer, text, jsonb);

COMMIT;
