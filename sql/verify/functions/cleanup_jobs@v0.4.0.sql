-- Verify pgjobs:functions/cleanup_jobs on pg
-- The 0.4.0 definition: per-task retention from app_jobs.task_settings.

BEGIN;

SELECT 1 / (pg_catalog.strpos(pg_catalog.pg_get_functiondef('app_jobs.cleanup_jobs(interval, text[])'::pg_catalog.regprocedure),
                               'app_jobs.task_settings') > 0)::integer;

ROLLBACK;
