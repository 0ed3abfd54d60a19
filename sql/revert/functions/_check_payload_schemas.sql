-- Revert pgjobs:functions/_check_payload_schemas from pg

BEGIN;

DROP FUNCTION app_jobs._check_payload_schemas(app_jobs.job_spec[], text);

COMMIT;
