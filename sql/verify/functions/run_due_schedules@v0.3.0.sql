-- Verify pgjobs:functions/run_due_schedules on pg

BEGIN;

SELECT 'app_jobs.run_due_schedules()'::pg_catalog.regprocedure;

ROLLBACK;
