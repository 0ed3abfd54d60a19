-- Revert pgjobs:tables/job_dependencies from pg

BEGIN;

DROP TABLE app_jobs.job_dependencies;

COMMIT;
