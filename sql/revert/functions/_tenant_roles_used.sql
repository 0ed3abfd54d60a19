-- Revert pgjobs:functions/_tenant_roles_used from pg

BEGIN;

DROP FUNCTION app_jobs._tenant_roles_used();

COMMIT;
