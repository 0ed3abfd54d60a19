-- Revert pgjobs:functions/_check_interval from pg

BEGIN;

DROP FUNCTION app_jobs._check_interval(interval, text, interval);

COMMIT;
