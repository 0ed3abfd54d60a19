-- Verify pgjobs:functions/list_job_dependencies on pg

BEGIN;

SELECT 'app_jobs.list_job_dependencies(bigint)'::pg_catalog.regprocedure;

ROLLBACK;
