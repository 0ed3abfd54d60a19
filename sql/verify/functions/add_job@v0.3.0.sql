-- Verify pgjobs:functions/add_job on pg

BEGIN;

SELECT 'app_jobs.add_job(uuid, text, json, text, text, timestamptz, integer, integer, text, jsonb)'::pg_catalog.regprocedure;

ROLLBACK;
