-- Verify pgjobs:functions/complete_job on pg
-- The definition that bounds worker_id.

BEGIN;

SELECT 1 / (pg_catalog.strpos(pg_catalog.pg_get_functiondef('app_jobs.complete_job(text, bigint, jsonb)'::pg_catalog.regprocedure),
                               'at most 200 characters') > 0)::integer;

ROLLBACK;
