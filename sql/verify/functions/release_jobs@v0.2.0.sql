-- Verify pgjobs:functions/release_jobs on pg

BEGIN;

SELECT 'app_jobs.release_jobs(text)'::pg_catalog.regprocedure;

ROLLBACK;
