-- Verify pgjobs:triggers/jobs_notify on pg
-- The insert trigger is statement-level; jobs_notify_ready's WHEN tests the new state alone.

BEGIN;

SELECT 1 / pg_catalog.count(*)::integer
  FROM pg_catalog.pg_trigger
 WHERE tgrelid = 'app_jobs.jobs'::pg_catalog.regclass
   AND tgname = 'jobs_notify_insert'
   AND tgfoid = 'app_jobs._tg_jobs_notify_inserted()'::pg_catalog.regprocedure;

SELECT 1 / pg_catalog.count(*)::integer
  FROM pg_catalog.pg_trigger
 WHERE tgrelid = 'app_jobs.jobs'::pg_catalog.regclass
   AND tgname = 'jobs_notify_ready'
   AND pg_catalog.strpos(pg_catalog.pg_get_triggerdef(oid), 'old.') = 0;

ROLLBACK;
