-- Revert pgjobs:functions/_row_tenant from pg

BEGIN;

DROP FUNCTION app_jobs._row_tenant();

COMMIT;
