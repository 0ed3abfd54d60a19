-- Verify pgjobs:triggers/jobs_notify on pg
-- The insert trigger is statement-level.

BEGIN;

SELECT 1 / pg_catalog.count(*)::integer
  FROM pg_catalog.pg_trigger
 WHERE tgrelid = 'app_jobs.jobs'::pg_catalog.regclass
   AND tgname = 'jobs_notify_insert'
   AND tgfoid = 'app_jobs._tg_jobs_notify_inserted()'::pg_catalog.regprocedure;

ROLLBACK;
