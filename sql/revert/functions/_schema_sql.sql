-- Revert pgjobs:functions/_schema_sql from pg

BEGIN;

DROP FUNCTION app_jobs._schema_sql(jsonb, jsonb, text, integer, text[]);

COMMIT;
