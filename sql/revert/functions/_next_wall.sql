-- Revert pgjobs:functions/_next_wall from pg

BEGIN;

DROP FUNCTION app_jobs._next_wall(app_jobs.schedule_spec, timestamp);

COMMIT;
