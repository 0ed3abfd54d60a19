-- Verify pgjobs:functions/_next_run on pg

BEGIN;

SELECT 'app_jobs._next_run(app_jobs.schedule_spec, timestamptz)'::pg_catalog.regprocedure;

ROLLBACK;
