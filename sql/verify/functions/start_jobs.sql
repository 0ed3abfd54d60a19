-- Verify pgjobs:functions/start_jobs on pg

BEGIN;

SELECT 'app_jobs.start_jobs(text, bigint[])'::pg_catalog.regprocedure;

ROLLBACK;
