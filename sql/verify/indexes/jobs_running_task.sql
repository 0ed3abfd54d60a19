-- Verify pgjobs:indexes/jobs_running_task on pg

BEGIN;

SELECT 'app_jobs.jobs_running_task_idx'::pg_catalog.regclass;

ROLLBACK;
