-- Revert pgjobs:functions/list_job_dependencies from pg

BEGIN;

DROP FUNCTION app_jobs.list_job_dependencies(bigint);

COMMIT;
