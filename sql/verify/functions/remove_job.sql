-- Verify pgjobs:functions/remove_job on pg

BEGIN;

-- The 0.4.0 definition: it calls the tenant guard.
SELECT 1 / (pg_catalog.strpos(pg_catalog.pg_get_functiondef('app_jobs.remove_job(text, uuid)'::pg_catalog.regprocedure),
                               'app_jobs._tenant(') > 0)::integer;

ROLLBACK;
