-- Verify pgjobs:functions/claim_job on pg
-- The definition that bounds worker_id.

BEGIN;

SELECT 1 / (pg_catalog.strpos(pg_catalog.pg_get_functiondef('app_jobs.claim_job(text, bigint)'::pg_catalog.regprocedure),
                               'at most 200 characters') > 0)::integer;

ROLLBACK;
