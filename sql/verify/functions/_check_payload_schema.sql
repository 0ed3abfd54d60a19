-- Verify pgjobs:functions/_check_payload_schema on pg

BEGIN;

SELECT 'app_jobs._check_payload_schema(jsonb, text, jsonb, text, integer)'::pg_catalog.regprocedure;

ROLLBACK;
