-- Revert pgjobs:functions/_check_backoff from pg

BEGIN;

DROP FUNCTION app_jobs._check_backoff(jsonb, text);

COMMIT;
