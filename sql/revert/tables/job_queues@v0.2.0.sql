-- Revert pgjobs:tables/job_queues from pg

BEGIN;

DROP TABLE app_jobs.job_queues;

COMMIT;
