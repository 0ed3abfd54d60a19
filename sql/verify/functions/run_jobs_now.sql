-- Verify pgjobs:functions/run_jobs_now on pg

BEGIN;

SELECT 'app_jobs.run_jobs_now(text[])'::pg_catalog.regprocedure;

ROLLBACK;
