-- Verify pgjobs:tables/jobs on pg
-- The named-queue index is in claim order.

BEGIN;

SELECT 1 / pg_catalog.count(*)::integer
  FROM pg_catalog.pg_indexes
 WHERE schemaname = 'app_jobs' AND tablename = 'jobs' AND indexname = 'jobs_queue_idx'
   AND indexdef LIKE '%(database_id, queue_name, priority, run_at, id)%';

ROLLBACK;
