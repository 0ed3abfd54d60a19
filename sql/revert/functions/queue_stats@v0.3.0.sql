-- Revert pgjobs:functions/queue_stats from pg

BEGIN;

DROP FUNCTION app_jobs.queue_stats();

COMMIT;
