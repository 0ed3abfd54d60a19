-- Revert pgjobs:functions/_check_payload_schema from pg

BEGIN;

DROP FUNCTION app_jobs._check_payload_schema(jsonb, text, jsonb, text, integer);

COMMIT;
