-- Verify pgjobs:functions/_reclaim_job on pg

BEGIN;

SELECT 'app_jobs._reclaim_job(app_jobs.jobs, text)'::pg_catalog.regprocedure;

ROLLBACK;
