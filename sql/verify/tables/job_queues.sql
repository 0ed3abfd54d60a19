-- Verify pgjobs:tables/job_queues on pg
-- 0.3.0: a view over app_jobs.jobs and app_jobs.job_queue_locks, with the table's columns.

BEGIN;

SELECT database_id, queue_name, job_count, locked_by, locked_at, created_at
  FROM app_jobs.job_queues
 WHERE false;

SELECT 1 / (c.relkind = 'v')::integer
  FROM pg_catalog.pg_class AS c
 WHERE c.oid = 'app_jobs.job_queues'::pg_catalog.regclass;

ROLLBACK;
