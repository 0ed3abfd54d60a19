-- Revert pgjobs:functions/_schema_error from pg

BEGIN;

DROP FUNCTION app_jobs._schema_error(jsonb, jsonb, jsonb, text);

COMMIT;
