-- Verify pgjobs:functions/_sweep on pg
-- The definition that probes first and runs only the steps with something to do.

BEGIN;

SELECT 1 / (pg_catalog.strpos(pg_catalog.pg_get_functiondef('app_jobs._sweep(interval)'::pg_catalog.regprocedure),
                               'v_orphans') > 0)::integer;

ROLLBACK;
