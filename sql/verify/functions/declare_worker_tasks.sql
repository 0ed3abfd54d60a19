-- Verify pgjobs:functions/declare_worker_tasks on pg

BEGIN;

SELECT 'app_jobs.declare_worker_tasks(text, text[])'::pg_catalog.regprocedure;

ROLLBACK;
