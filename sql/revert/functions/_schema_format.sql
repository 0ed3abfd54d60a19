-- Revert pgjobs:functions/_schema_format from pg

BEGIN;

DROP FUNCTION app_jobs._schema_format(text, text);

COMMIT;
