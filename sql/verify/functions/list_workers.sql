-- Verify pgjobs:functions/list_workers on pg

BEGIN;

SELECT 'app_jobs.list_workers()'::pg_catalog.regprocedure;

ROLLBACK;
