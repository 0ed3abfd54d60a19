-- Verify pgjobs:functions/list_jobs on pg

BEGIN;

SELECT 'app_jobs.list_jobs(text[], text, text, uuid, text, integer, integer)'::pg_catalog.regprocedure;

ROLLBACK;
