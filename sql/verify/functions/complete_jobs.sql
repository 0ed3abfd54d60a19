-- Verify pgjobs:functions/complete_jobs on pg

BEGIN;

SELECT 'app_jobs.complete_jobs(bigint[])'::pg_catalog.regprocedure;

ROLLBACK;
