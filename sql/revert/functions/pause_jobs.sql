-- Revert pgjobs:functions/pause_jobs from pg

BEGIN;

DROP FUNCTION app_jobs.pause_jobs(text, text, uuid, text);

COMMIT;
