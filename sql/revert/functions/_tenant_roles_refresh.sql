-- Revert pgjobs:functions/_tenant_roles_refresh from pg

BEGIN;

DROP FUNCTION app_jobs._tenant_roles_refresh();

COMMIT;
