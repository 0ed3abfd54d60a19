-- Revert pgjobs:functions/validate_payload from pg

BEGIN;

DROP FUNCTION app_jobs.validate_payload(text, jsonb, uuid);

COMMIT;
