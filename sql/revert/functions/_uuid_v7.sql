-- Revert pgjobs:functions/_uuid_v7 from pg

BEGIN;

DROP FUNCTION app_jobs._uuid_v7();

COMMIT;
