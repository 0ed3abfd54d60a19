-- Revert pgjobs:triggers/tg_add_job_with_fields from pg

BEGIN;

DROP FUNCTION app_jobs.tg_add_job_with_fields();

COMMIT;
