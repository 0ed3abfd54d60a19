-- Revert pgjobs:tables/job_queue_wakes from pg

BEGIN;

DROP TABLE app_jobs.job_queue_wakes;

COMMIT;
