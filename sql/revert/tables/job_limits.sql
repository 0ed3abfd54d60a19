-- Revert pgjobs:tables/job_limits from pg

BEGIN;

DROP TABLE app_jobs.job_limits;

COMMIT;
