-- Verify pgjobs:functions/fail_job on pg
-- The definition that bounds worker_id.

BEGIN;

SELECT 1 / (pg_catalog.strpos(pg_catalog.pg_get_functiondef('app_jobs.fail_job(text, bigint, text, boolean, jsonb, jsonb)'::pg_catalog.regprocedure),
                               'at most 200 characters') > 0)::integer;

ROLLBACK;
