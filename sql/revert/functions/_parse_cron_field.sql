-- Revert pgjobs:functions/_parse_cron_field from pg

BEGIN;

DROP FUNCTION app_jobs._parse_cron_field(text, text, integer, integer, text[]);

COMMIT;
