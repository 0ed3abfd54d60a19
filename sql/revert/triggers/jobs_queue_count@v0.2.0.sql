-- Revert pgjobs:triggers/jobs_queue_count from pg

BEGIN;

DROP TRIGGER jobs_queue_count_delete ON app_jobs.jobs;
DROP TRIGGER jobs_queue_count_update ON app_jobs.jobs;
DROP TRIGGER jobs_queue_count_insert ON app_jobs.jobs;
DROP FUNCTION app_jobs._tg_jobs_queue_count();

COMMIT;
