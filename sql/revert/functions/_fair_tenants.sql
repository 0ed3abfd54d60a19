-- Revert pgjobs:functions/_fair_tenants from pg

BEGIN;

DROP FUNCTION app_jobs._fair_tenants(integer, uuid, integer);

COMMIT;
