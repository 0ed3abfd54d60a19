-- Revert pgjobs:functions/run_due_schedules from pg

BEGIN;

DROP FUNCTION app_jobs.run_due_schedules();

COMMIT;
