-- Verify pgjobs:functions/schema_version on pg

BEGIN;

SELECT 1 / (app_jobs.schema_version() = '0.5.0')::integer;

ROLLBACK;
