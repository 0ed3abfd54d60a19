-- Verify pgjobs:functions/claim_job on pg
-- The definition that leaves a job waiting for its dependencies alone.

BEGIN;

SELECT 1 / (pg_catalog.strpos(pg_catalog.pg_get_functiondef('app_jobs.claim_job(text, bigint)'::pg_catalog.regprocedure),
                               'waiting for its dependencies') > 0)::integer;

ROLLBACK;
