-- Verify pgjobs:functions/get_jobs on pg

BEGIN;

SELECT 'app_jobs.get_jobs(text, text[], interval, integer)'::pg_catalog.regprocedure;

ROLLBACK;
