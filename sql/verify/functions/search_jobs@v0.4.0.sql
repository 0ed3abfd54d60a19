-- Verify pgjobs:functions/search_jobs on pg

BEGIN;

SELECT 'app_jobs.search_jobs(jsonb, text, text[], text, text, uuid, text, interval, integer, integer)'::pg_catalog.regprocedure;

ROLLBACK;
