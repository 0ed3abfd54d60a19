-- Verify pgjobs:functions/_check_job_payload on pg

BEGIN;

SELECT 'app_jobs._check_job_payload(uuid, text, jsonb, text)'::pg_catalog.regprocedure;

ROLLBACK;
