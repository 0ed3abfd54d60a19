-- Verify pgjobs:functions/add_jobs on pg
-- The definition on the one set-based enqueue implementation.

BEGIN;

SELECT 1 / (pg_catalog.strpos(pg_catalog.pg_get_functiondef('app_jobs.add_jobs(app_jobs.job_spec[], text[], jsonb[], interval[], text)'::pg_catalog.regprocedure),
                               'app_jobs._add_jobs') > 0)::integer;

ROLLBACK;
