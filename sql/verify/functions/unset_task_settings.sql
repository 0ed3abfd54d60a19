-- Verify pgjobs:functions/unset_task_settings on pg

BEGIN;

SELECT 'app_jobs.unset_task_settings(text, uuid, text[])'::pg_catalog.regprocedure;

ROLLBACK;
