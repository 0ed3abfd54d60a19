-- Deploy pgjobs:triggers/jobs_queue_count to pg
-- requires: triggers/jobs_queue_count@v0.2.0
-- 0.3.0 retires the job_count triggers: app_jobs.job_queues is a view that counts the jobs
-- of each queue when it is read, so enqueuing and finishing no longer touch any queue row
-- at commit, and no stored count can drift (a plain pg_restore used to count every
-- restored job twice). The first instance of this change created them.

BEGIN;

DROP TRIGGER jobs_queue_count_insert ON app_jobs.jobs;
DROP TRIGGER jobs_queue_count_update ON app_jobs.jobs;
DROP TRIGGER jobs_queue_count_delete ON app_jobs.jobs;
DROP FUNCTION app_jobs._tg_jobs_queue_count();

COMMIT;
