-- Revert pgjobs:tables/job_pauses from pg

BEGIN;

DROP TABLE app_jobs.job_pauses;

COMMIT;
