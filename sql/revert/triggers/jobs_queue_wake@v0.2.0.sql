-- Revert pgjobs:triggers/jobs_queue_wake from pg

BEGIN;

DROP TRIGGER jobs_queue_wake_update ON app_jobs.jobs;
DROP TRIGGER jobs_queue_wake_delete ON app_jobs.jobs;
DROP FUNCTION app_jobs._tg_jobs_queue_wake();

COMMIT;
