-- Verify pgjobs:tables/queue_gauges_cache on pg

BEGIN;

SELECT task_identifier, queue_name, ready, oldest_ready_at, exact, computed_at
  FROM app_jobs.queue_gauges_cache
 WHERE false;

ROLLBACK;
