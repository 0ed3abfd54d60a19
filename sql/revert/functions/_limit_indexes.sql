-- Revert pgjobs:functions/_limit_indexes from pg

BEGIN;

DROP INDEX IF EXISTS app_jobs.jobs_running_task_idx;
DROP INDEX IF EXISTS app_jobs.jobs_running_tenant_idx;
DROP FUNCTION app_jobs._limit_indexes();

COMMIT;
