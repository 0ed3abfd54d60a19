-- Verify pgjobs:functions/next_run on pg
-- The 0.4.0 definition: `after` is checked by app_jobs._check_time.

BEGIN;

SELECT 1 / (pg_catalog.strpos(pg_catalog.pg_get_functiondef('app_jobs.next_run(jsonb, timestamptz)'::pg_catalog.regprocedure),
                               'app_jobs._check_time') > 0)::integer;

ROLLBACK;
