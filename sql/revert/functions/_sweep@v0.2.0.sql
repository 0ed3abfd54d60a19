-- Revert pgjobs:functions/_sweep from pg

BEGIN;

DROP FUNCTION app_jobs._sweep(interval);

COMMIT;
