-- Verify pgjobs:functions/list_jobs on pg

BEGIN;

-- The 0.4.0 definition: it calls the tenant guard.
SELECT 1 / (pg_catalog.strpos(pg_catalog.pg_get_functiondef('app_jobs.list_jobs(text[], text, text, uuid, text, integer, integer)'::pg_catalog.regprocedure),
                               'app_jobs._tenant(') > 0)::integer;

ROLLBACK;
