-- Verify pgjobs:functions/fail_job on pg

BEGIN;

SELECT 'app_jobs.fail_job(text, bigint, text, boolean, jsonb, jsonb)'::pg_catalog.regprocedure;

ROLLBACK;
