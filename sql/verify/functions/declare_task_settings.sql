-- Verify pgjobs:functions/declare_task_settings on pg

BEGIN;

SELECT 'app_jobs.declare_task_settings(jsonb, integer)'::pg_catalog.regprocedure;

ROLLBACK;
