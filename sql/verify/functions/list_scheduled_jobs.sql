-- Verify pgjobs:functions/list_scheduled_jobs on pg

BEGIN;

SELECT 'app_jobs.list_scheduled_jobs(uuid)'::pg_catalog.regprocedure;

ROLLBACK;
