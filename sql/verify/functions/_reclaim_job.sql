-- Verify pgjobs:functions/_reclaim_job on pg
-- The 0.4.0 definition: a job never started gets its attempt refunded.

BEGIN;

SELECT 1 / (pg_catalog.strpos(pg_catalog.pg_get_functiondef('app_jobs._reclaim_job(app_jobs.jobs, text)'::pg_catalog.regprocedure),
                               'started_attempt') > 0)::integer;

ROLLBACK;
