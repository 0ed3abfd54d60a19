-- Verify pgjobs:functions/add_job on pg
-- The definition on the one set-based enqueue implementation.

BEGIN;

SELECT 1 / (pg_catalog.strpos(pg_catalog.pg_get_functiondef('app_jobs.add_job(uuid, text, json, text, text, timestamptz, integer, integer, text, jsonb, interval, text)'::pg_catalog.regprocedure),
                               'app_jobs._add_jobs') > 0)::integer;

ROLLBACK;
