-- Verify pgjobs:functions/reclaim_stuck_jobs on pg

BEGIN;

SELECT 'app_jobs.reclaim_stuck_jobs(interval)'::pg_catalog.regprocedure;

ROLLBACK;
