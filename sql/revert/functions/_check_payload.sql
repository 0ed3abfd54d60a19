-- Revert pgjobs:functions/_check_payload from pg

BEGIN;

DROP FUNCTION app_jobs._check_payload(json, text);

COMMIT;
