-- Revert pgjobs:functions/list_job_limits from pg

BEGIN;

DROP FUNCTION app_jobs.list_job_limits(uuid);

COMMIT;
