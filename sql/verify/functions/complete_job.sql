-- Verify pgjobs:functions/complete_job on pg
-- The definition that moves the job to history in one statement.

BEGIN;

SELECT 1 / (pg_catalog.strpos(pg_catalog.pg_get_functiondef('app_jobs.complete_job(text, bigint, jsonb)'::pg_catalog.regprocedure),
                               'archived AS (') > 0)::integer;

ROLLBACK;
