-- Verify pgjobs:functions/next_run on pg

BEGIN;

SELECT 'app_jobs.next_run(jsonb, timestamptz)'::pg_catalog.regprocedure;

ROLLBACK;
