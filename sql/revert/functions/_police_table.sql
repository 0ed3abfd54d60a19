-- Revert pgjobs:functions/_police_table from pg

BEGIN;

DROP FUNCTION app_jobs._police_table(regclass);

COMMIT;
