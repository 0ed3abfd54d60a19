-- Revert pgjobs:tables/job_attempts from pg

BEGIN;

DROP TABLE app_jobs.job_attempts;

COMMIT;
