-- Verify pgjobs:functions/_schema_error on pg

BEGIN;

SELECT 'app_jobs._schema_error(jsonb, jsonb, jsonb, text)'::pg_catalog.regprocedure;

ROLLBACK;
