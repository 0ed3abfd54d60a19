-- Verify pgjobs:functions/cancel_jobs on pg

BEGIN;

SELECT 'app_jobs.cancel_jobs(text, integer, timestamptz, text, uuid)'::pg_catalog.regprocedure;

ROLLBACK;
