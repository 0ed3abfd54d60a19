-- Verify pgjobs:functions/_sweep on pg
-- The 0.3.0 definition: it works on app_jobs.job_queue_wakes.

BEGIN;

SELECT 1 / (pg_catalog.strpos(pg_catalog.pg_get_functiondef('app_jobs._sweep(interval)'::pg_catalog.regprocedure),
                               'app_jobs.job_queue_wakes') > 0)::integer;

ROLLBACK;
