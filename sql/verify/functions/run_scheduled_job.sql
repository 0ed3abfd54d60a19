-- Verify pgjobs:functions/run_scheduled_job on pg
-- The 0.4.0 definition: the task's settings fill what the schedule leaves out.

BEGIN;

SELECT 1 / (pg_catalog.strpos(pg_catalog.pg_get_functiondef('app_jobs.run_scheduled_job(bigint)'::pg_catalog.regprocedure),
                               'app_jobs._task_defaults') > 0)::integer;

ROLLBACK;
