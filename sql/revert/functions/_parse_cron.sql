-- Revert pgjobs:functions/_parse_cron from pg

BEGIN;

DROP FUNCTION app_jobs._parse_cron(text);

COMMIT;
