-- Revert pgjobs:functions/_next_run from pg

BEGIN;

DROP FUNCTION app_jobs._next_run(app_jobs.schedule_spec, timestamptz);

COMMIT;
