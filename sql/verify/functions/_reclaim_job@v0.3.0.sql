-- Verify pgjobs:functions/_reclaim_job on pg
-- The 0.3.0 definition: it works on app_jobs.job_queue_locks.

BEGIN;

SELECT 1 / (pg_catalog.strpos(pg_catalog.pg_get_functiondef('app_jobs._reclaim_job(app_jobs.jobs, text)'::pg_catalog.regprocedure),
                               'app_jobs.job_queue_locks') > 0)::integer;

ROLLBACK;
