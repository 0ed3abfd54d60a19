-- Revert pgjobs:functions/create_history_partitions from pg

BEGIN;

DROP FUNCTION app_jobs.create_history_partitions(integer);

COMMIT;
