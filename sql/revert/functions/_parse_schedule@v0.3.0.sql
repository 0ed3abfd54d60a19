-- Revert pgjobs:functions/_parse_schedule from pg

BEGIN;

DROP FUNCTION app_jobs._parse_schedule(jsonb);

COMMIT;
