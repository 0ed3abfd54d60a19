-- Verify pgjobs:functions/schema_version on pg

BEGIN;

SELECT 1 / (app_jobs.schema_version() = '0.6.0')::integer;

ROLLBACK;
