-- Verify pgjobs:triggers/jobs_check on pg

BEGIN;

SELECT 1 / pg_catalog.count(*)::integer FROM pg_catalog.pg_trigger
 WHERE tgrelid = 'app_jobs.jobs'::pg_catalog.regclass AND tgname = 'jobs_check_insert';
SELECT 1 / pg_catalog.count(*)::integer FROM pg_catalog.pg_trigger
 WHERE tgrelid = 'app_jobs.jobs'::pg_catalog.regclass AND tgname = 'jobs_check_update';

ROLLBACK;
