-- Verify pgjobs:functions/get_jobs on pg

BEGIN;

SELECT 'app_jobs.get_jobs(text, text[], interval, integer, boolean)'::pg_catalog.regprocedure;

ROLLBACK;
