-- Revert pgjobs:functions/_check_job_payload from pg

BEGIN;

DROP FUNCTION app_jobs._check_job_payload(uuid, text, jsonb, text);

COMMIT;
