-- Verify pgjobs:tables/jobs on pg
-- The named-queue index is in claim order.

BEGIN;

SELECT 1 / pg_catalog.count(*)::integer
  FROM pg_catalog.pg_indexes
 WHERE schemaname = 'app_jobs' AND tablename = 'jobs' AND indexname = 'jobs_queue_idx'
   AND indexdef LIKE '%(database_id, queue_name, priority, run_at, id)%';

SELECT 1 / (pg_catalog.pg_get_expr(d.adbin, d.adrelid) LIKE '%_uuid_v7%')::integer
  FROM pg_catalog.pg_attrdef AS d
  JOIN pg_catalog.pg_attribute AS a ON a.attrelid = d.adrelid AND a.attnum = d.adnum
 WHERE d.adrelid = 'app_jobs.jobs'::pg_catalog.regclass AND a.attname = 'uid';

SELECT timeout FROM app_jobs.jobs WHERE false;
SELECT started_attempt FROM app_jobs.jobs WHERE false;
SELECT 1 / pg_catalog.count(*)::integer
  FROM pg_catalog.pg_indexes
 WHERE schemaname = 'app_jobs' AND tablename = 'jobs' AND indexname = 'jobs_paused_idx';

ROLLBACK;
