-- Revert pgjobs:tables/job_queue_deltas from pg

BEGIN;

DROP TABLE app_jobs.job_queue_deltas;

COMMIT;
