-- Revert pgjobs:indexes/jobs_running_tenant from pg

BEGIN;

DROP INDEX app_jobs.jobs_running_tenant_idx;

COMMIT;
