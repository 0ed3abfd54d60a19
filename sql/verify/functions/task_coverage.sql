-- Verify pgjobs:functions/task_coverage on pg

BEGIN;

SELECT 'app_jobs.task_coverage(uuid)'::pg_catalog.regprocedure;

ROLLBACK;
