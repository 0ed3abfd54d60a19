-- Verify pgjobs:functions/set_task_settings on pg

BEGIN;

SELECT 'app_jobs.set_task_settings(text, uuid, integer, jsonb, integer, text, interval, interval, jsonb)'::pg_catalog.regprocedure;

ROLLBACK;
