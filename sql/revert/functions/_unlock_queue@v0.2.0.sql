-- Revert pgjobs:functions/_unlock_queue from pg

BEGIN;

DROP FUNCTION app_jobs._unlock_queue(uuid, text, text);

COMMIT;
