-- Revert pgjobs:types/job_info from pg

BEGIN;

DROP TYPE app_jobs.job_info;

COMMIT;
