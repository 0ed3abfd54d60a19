-- Verify pgjobs:functions/cleanup_jobs on pg
-- The 0.5.0 definition: dependency edges go with the history.

BEGIN;

SELECT 1 / (pg_catalog.strpos(pg_catalog.pg_get_functiondef('app_jobs.cleanup_jobs(interval, text[])'::pg_catalog.regprocedure),
                               'app_jobs.job_dependencies') > 0)::integer;

ROLLBACK;
