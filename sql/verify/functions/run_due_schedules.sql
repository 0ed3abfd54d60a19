-- Verify pgjobs:functions/run_due_schedules on pg
-- The 0.4.0 definition: a failing schedule is skipped with a warning; task settings apply.

BEGIN;

SELECT 1 / (pg_catalog.strpos(pg_catalog.pg_get_functiondef('app_jobs.run_due_schedules()'::pg_catalog.regprocedure),
                               'RAISE WARNING') > 0)::integer;
SELECT 1 / (pg_catalog.strpos(pg_catalog.pg_get_functiondef('app_jobs.run_due_schedules()'::pg_catalog.regprocedure),
                               'app_jobs._task_defaults') > 0)::integer;

ROLLBACK;
