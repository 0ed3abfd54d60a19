-- Revert pgjobs:functions/_check_time from pg

BEGIN;

DROP FUNCTION app_jobs._check_time(timestamptz, text);

COMMIT;
