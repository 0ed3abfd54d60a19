-- Verify pgjobs:functions/_schema_format_pattern on pg

BEGIN;

SELECT 'app_jobs._schema_format_pattern(text)'::pg_catalog.regprocedure;

ROLLBACK;
