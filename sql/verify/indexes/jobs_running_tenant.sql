-- Verify pgjobs:indexes/jobs_running_tenant on pg

BEGIN;

SELECT 'app_jobs.jobs_running_tenant_idx'::pg_catalog.regclass;

ROLLBACK;
