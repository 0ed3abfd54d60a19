-- Verify pgjobs:functions/find_job on pg

BEGIN;

-- The 0.4.0 definition: it calls the tenant guard.
SELECT 1 / (pg_catalog.strpos(pg_catalog.pg_get_functiondef('app_jobs.find_job(bigint, uuid, boolean)'::pg_catalog.regprocedure),
                               'app_jobs._tenant(') > 0)::integer;

ROLLBACK;
