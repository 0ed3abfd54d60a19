-- Revert pgjobs:tables/scheduled_jobs from pg

BEGIN;

DROP TABLE app_jobs.scheduled_jobs;

COMMIT;
