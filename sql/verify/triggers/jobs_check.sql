-- Verify pgjobs:triggers/jobs_check on pg
-- One statement trigger after an INSERT (the shape rules and the NOTIFY), none of its own for
-- the NOTIFY left.

BEGIN;

SELECT 1 / pg_catalog.count(*)::integer FROM pg_catalog.pg_trigger
 WHERE tgrelid = 'app_jobs.jobs'::pg_catalog.regclass AND tgname = 'jobs_inserted'
   AND tgfoid = 'app_jobs._tg_jobs_inserted()'::pg_catalog.regprocedure;
SELECT 1 / pg_catalog.count(*)::integer FROM pg_catalog.pg_trigger
 WHERE tgrelid = 'app_jobs.jobs'::pg_catalog.regclass AND tgname = 'jobs_check_update';
SELECT 1 / (1 - pg_catalog.count(*))::integer FROM pg_catalog.pg_trigger
 WHERE tgrelid = 'app_jobs.jobs'::pg_catalog.regclass AND tgname = 'jobs_notify_insert';

ROLLBACK;
