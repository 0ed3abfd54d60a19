-- Verify pgjobs:triggers/jobs_queue_count on pg

BEGIN;

SELECT 1 / (pg_catalog.count(*) = 3)::integer
  FROM pg_catalog.pg_trigger
 WHERE tgrelid = 'app_jobs.jobs'::pg_catalog.regclass
   AND tgname IN ('jobs_queue_count_insert', 'jobs_queue_count_update', 'jobs_queue_count_delete');

ROLLBACK;
