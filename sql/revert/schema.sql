-- Revert pgjobs:schema from pg

BEGIN;

DROP SCHEMA app_jobs;

COMMIT;
