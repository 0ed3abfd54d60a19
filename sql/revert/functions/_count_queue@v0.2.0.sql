-- Revert pgjobs:functions/_count_queue from pg

BEGIN;

DROP FUNCTION app_jobs._count_queue(uuid, text, integer);

COMMIT;
