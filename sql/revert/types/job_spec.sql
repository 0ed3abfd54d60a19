-- Revert pgjobs:types/job_spec from pg

BEGIN;

DROP TYPE app_jobs.job_spec;

COMMIT;
