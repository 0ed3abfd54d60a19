-- Verify pgjobs:functions/pause_jobs on pg

BEGIN;

SELECT 'app_jobs.pause_jobs(text, text, uuid, text)'::pg_catalog.regprocedure;

ROLLBACK;
