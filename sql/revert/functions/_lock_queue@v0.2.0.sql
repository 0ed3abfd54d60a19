-- Revert pgjobs:functions/_lock_queue from pg

BEGIN;

DROP FUNCTION app_jobs._lock_queue(uuid, text, text, bigint);

COMMIT;
