-- Revert pgjobs:tables/job_history from pg

BEGIN;

DROP TABLE app_jobs.job_history;

COMMIT;
