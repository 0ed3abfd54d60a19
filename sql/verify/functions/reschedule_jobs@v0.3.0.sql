-- Verify pgjobs:functions/reschedule_jobs on pg

BEGIN;

SELECT 'app_jobs.reschedule_jobs(bigint[], timestamptz, integer, integer, integer)'::pg_catalog.regprocedure;

ROLLBACK;
