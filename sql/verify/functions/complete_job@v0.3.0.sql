-- Verify pgjobs:functions/complete_job on pg

BEGIN;

SELECT 'app_jobs.complete_job(text, bigint, jsonb)'::pg_catalog.regprocedure;

ROLLBACK;
