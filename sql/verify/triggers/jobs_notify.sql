-- Verify pgjobs:triggers/jobs_notify on pg
-- jobs_notify_ready's WHEN tests the new state alone (an insert notifies through
-- triggers/jobs_check's statement trigger since 0.6.0); once triggers/jobs_updated is
-- deployed, its trigger jobs_updated notifies instead.

BEGIN;

SELECT 1 / pg_catalog.count(*)::integer
  FROM pg_catalog.pg_trigger
 WHERE tgrelid = 'app_jobs.jobs'::pg_catalog.regclass
   AND ((tgname = 'jobs_notify_ready' AND pg_catalog.strpos(pg_catalog.pg_get_triggerdef(oid), 'old.') = 0)
        OR tgname = 'jobs_updated');

ROLLBACK;
