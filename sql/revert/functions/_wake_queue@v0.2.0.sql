-- Revert pgjobs:functions/_wake_queue from pg

BEGIN;

DROP FUNCTION app_jobs._wake_queue(uuid, text);

COMMIT;
