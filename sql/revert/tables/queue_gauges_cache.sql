-- Revert pgjobs:tables/queue_gauges_cache from pg

BEGIN;

DROP TABLE app_jobs.queue_gauges_cache;

COMMIT;
