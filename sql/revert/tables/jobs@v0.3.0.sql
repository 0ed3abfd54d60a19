-- Revert pgjobs:tables/jobs from pg

BEGIN;

DROP TABLE app_jobs.jobs;

COMMIT;
