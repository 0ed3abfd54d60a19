-- Revert pgjobs:tables/job_fairness from pg

BEGIN;

DROP TABLE app_jobs.job_fairness;

COMMIT;
