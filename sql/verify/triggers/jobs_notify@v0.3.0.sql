-- Verify pgjobs:triggers/jobs_notify on pg

BEGIN;

SELECT 1 / (pg_catalog.count(*) = 2)::integer
  FROM pg_catalog.pg_trigger
 WHERE tgrelid = 'app_jobs.jobs'::pg_catalog.regclass
   AND tgname IN ('jobs_notify_insert', 'jobs_notify_ready');

ROLLBACK;
