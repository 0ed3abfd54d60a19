-- Verify pgjobs:triggers/jobs_queue_wake on pg

BEGIN;

SELECT 1 / (pg_catalog.count(*) = 2)::integer
  FROM pg_catalog.pg_trigger
 WHERE tgrelid = 'app_jobs.jobs'::pg_catalog.regclass
   AND tgname IN ('jobs_queue_wake_delete', 'jobs_queue_wake_update');

ROLLBACK;
