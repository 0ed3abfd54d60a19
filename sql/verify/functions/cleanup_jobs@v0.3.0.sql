-- Verify pgjobs:functions/cleanup_jobs on pg

BEGIN;

SELECT 'app_jobs.cleanup_jobs(interval, text[])'::pg_catalog.regprocedure;

ROLLBACK;
