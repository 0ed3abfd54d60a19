-- Verify pgjobs:functions/reschedule_jobs on pg
-- The 0.4.0 definition: run_at is checked by app_jobs._check_time.

BEGIN;

SELECT 1 / (pg_catalog.strpos(pg_catalog.pg_get_functiondef('app_jobs.reschedule_jobs(bigint[], timestamptz, integer, integer, integer)'::pg_catalog.regprocedure),
                               'app_jobs._check_time') > 0)::integer;

ROLLBACK;
