-- Verify pgjobs:functions/complete_job on pg
-- The definition that takes the deleted job as one composite value (RETURNING j).

BEGIN;

SELECT 1 / (pg_catalog.strpos(pg_catalog.pg_get_functiondef('app_jobs.complete_job(text, bigint, jsonb)'::pg_catalog.regprocedure),
                               'RETURNING j AS job INTO v_done') > 0)::integer;

ROLLBACK;
