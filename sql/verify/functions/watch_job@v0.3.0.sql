-- Verify pgjobs:functions/watch_job on pg

BEGIN;

SELECT 'app_jobs.watch_job(bigint)'::pg_catalog.regprocedure;

ROLLBACK;
