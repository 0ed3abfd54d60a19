-- Revert pgjobs:functions/_tenant from pg

BEGIN;

DROP FUNCTION app_jobs._tenant(uuid, text);

COMMIT;
