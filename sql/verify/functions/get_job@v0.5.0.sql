-- Verify pgjobs:functions/get_job on pg
-- The one-job case of get_jobs.

BEGIN;

SELECT 1 / (pg_catalog.strpos(pg_catalog.pg_get_functiondef('app_jobs.get_job(text, text[], interval)'::pg_catalog.regprocedure),
                               'app_jobs.get_jobs') > 0)::integer;

ROLLBACK;
