-- Revert pgjobs:tables/worker_tasks from pg

BEGIN;

DROP TABLE app_jobs.worker_tasks;

COMMIT;
