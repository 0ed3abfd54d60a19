-- Verify pgjobs:functions/_check_task_settings on pg

BEGIN;

SELECT 'app_jobs._check_task_settings(text, integer, jsonb, text, interval, interval, text)'::pg_catalog.regprocedure;

ROLLBACK;
