-- Verify pgjobs:schema on pg

BEGIN;

SELECT pg_catalog.has_schema_privilege('app_jobs', 'USAGE');

ROLLBACK;
