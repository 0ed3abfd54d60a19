-- Verify pgjobs:functions/list_task_settings on pg

BEGIN;

SELECT 'app_jobs.list_task_settings(uuid)'::pg_catalog.regprocedure;

ROLLBACK;
