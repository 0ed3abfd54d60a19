-- Revert pgjobs:functions/add_scheduled_job from pg

BEGIN;

DROP FUNCTION app_jobs.add_scheduled_job(uuid, text, json, json, text, text, integer, integer, text, text, text, integer, interval);

COMMIT;
