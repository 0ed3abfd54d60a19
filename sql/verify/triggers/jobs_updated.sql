-- Verify pgjobs:triggers/jobs_updated on pg

BEGIN;

SELECT 1 / (pg_catalog.count(*) = 2)::integer
  FROM pg_catalog.pg_trigger
 WHERE tgrelid = 'app_jobs.jobs'::pg_catalog.regclass
   AND tgname IN ('jobs_updated', 'jobs_queue_moved')
   AND tgfoid = 'app_jobs._tg_jobs_updated()'::pg_catalog.regprocedure;
SELECT 1 / (pg_catalog.count(*) = 0)::integer
  FROM pg_catalog.pg_trigger
 WHERE tgrelid = 'app_jobs.jobs'::pg_catalog.regclass
   AND tgname IN ('jobs_notify_ready', 'jobs_queue_wake_update');

ROLLBACK;
