-- Revert pgjobs:functions/_schema_format_pattern from pg

BEGIN;

DROP FUNCTION app_jobs._schema_format_pattern(text);

COMMIT;
