-- Verify pgjobs:functions/_next_wall on pg

BEGIN;

SELECT 'app_jobs._next_wall(app_jobs.schedule_spec, timestamp)'::pg_catalog.regprocedure;

ROLLBACK;
