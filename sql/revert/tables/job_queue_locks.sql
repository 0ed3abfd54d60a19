-- Revert pgjobs:tables/job_queue_locks from pg

BEGIN;

DROP TABLE app_jobs.job_queue_locks;

COMMIT;
