-- Verify pgjobs:functions/_next_run on pg
-- The 0.4.0 definition: no fire time after 9999-12-30.

BEGIN;

SELECT 1 / (pg_catalog.strpos(pg_catalog.pg_get_functiondef('app_jobs._next_run(app_jobs.schedule_spec, timestamptz)'::pg_catalog.regprocedure),
                               '9999-12-30') > 0)::integer;

ROLLBACK;
