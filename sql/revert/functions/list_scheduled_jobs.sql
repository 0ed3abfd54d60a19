-- Revert pgjobs:functions/list_scheduled_jobs from pg

BEGIN;

DROP FUNCTION app_jobs.list_scheduled_jobs(uuid);

COMMIT;
