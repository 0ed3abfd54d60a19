-- Revert pgjobs:functions/heartbeat from pg

BEGIN;

DROP FUNCTION app_jobs.heartbeat(text, interval);

COMMIT;
