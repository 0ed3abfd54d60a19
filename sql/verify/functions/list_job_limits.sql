-- Verify pgjobs:functions/list_job_limits on pg

BEGIN;

SELECT 'app_jobs.list_job_limits(uuid)'::pg_catalog.regprocedure;

ROLLBACK;
