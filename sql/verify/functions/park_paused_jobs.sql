-- Verify pgjobs:functions/park_paused_jobs on pg

BEGIN;

SELECT 'app_jobs.park_paused_jobs(integer)'::pg_catalog.regprocedure;

ROLLBACK;
