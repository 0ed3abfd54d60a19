-- Verify pgjobs:functions/set_progress on pg

BEGIN;

SELECT 'app_jobs.set_progress(text, bigint, numeric, text)'::pg_catalog.regprocedure;

ROLLBACK;
