-- Verify pgjobs:functions/validate_payload on pg

BEGIN;

SELECT 'app_jobs.validate_payload(text, jsonb, uuid)'::pg_catalog.regprocedure;

ROLLBACK;
