-- Revert pgjobs:indexes/jobs_running_task from pg

BEGIN;

DROP INDEX app_jobs.jobs_running_task_idx;

COMMIT;
