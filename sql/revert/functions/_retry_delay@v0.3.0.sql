-- Revert pgjobs:functions/_retry_delay from pg

BEGIN;

DROP FUNCTION app_jobs._retry_delay(jsonb, integer);

COMMIT;
