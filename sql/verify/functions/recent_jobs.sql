-- Verify pgjobs:functions/recent_jobs on pg

BEGIN;

SELECT 'app_jobs.recent_jobs(integer)'::pg_catalog.regprocedure;

ROLLBACK;
