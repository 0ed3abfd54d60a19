-- Verify pgjobs:functions/_schema_format on pg

BEGIN;

SELECT 'app_jobs._schema_format(text, text)'::pg_catalog.regprocedure;

ROLLBACK;
