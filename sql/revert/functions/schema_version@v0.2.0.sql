-- Revert pgjobs:functions/schema_version from pg

BEGIN;

DROP FUNCTION app_jobs.schema_version();

COMMIT;
