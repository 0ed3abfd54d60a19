-- Revert pgjobs:functions/_tenant_check from pg

BEGIN;

DROP FUNCTION app_jobs._tenant_check(uuid, text);

COMMIT;
