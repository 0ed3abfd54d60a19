-- Verify pgjobs:functions/_schema_sql on pg

BEGIN;

SELECT 'app_jobs._schema_sql(jsonb, jsonb, text, integer, text[])'::pg_catalog.regprocedure;

ROLLBACK;
