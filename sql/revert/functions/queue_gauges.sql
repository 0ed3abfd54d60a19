-- Revert pgjobs:functions/queue_gauges from pg

BEGIN;

DROP FUNCTION app_jobs.queue_gauges(interval, integer);

COMMIT;
