-- Verify pgjobs:functions/get_job on pg
-- get_jobs' body, generated into get_job (tools/gen_get_job.py).

BEGIN;

SELECT 1 / (pg_catalog.strpos(pg_catalog.pg_get_functiondef('app_jobs.get_job(text, text[], interval)'::pg_catalog.regprocedure),
                               '<<get_jobs>>') > 0)::integer;

ROLLBACK;
