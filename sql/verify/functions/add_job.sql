-- Verify pgjobs:functions/add_job on pg
-- The signature with depends_on.

BEGIN;

SELECT 1 / (pg_catalog.strpos(pg_catalog.pg_get_functiondef('app_jobs.add_job(uuid, text, json, text, text, timestamptz, integer, integer, text, jsonb, interval, text, bigint[])'::pg_catalog.regprocedure),
                               'app_jobs._add_dependent_jobs') > 0)::integer;

ROLLBACK;
