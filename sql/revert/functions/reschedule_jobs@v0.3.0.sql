-- Revert pgjobs:functions/reschedule_jobs from pg

BEGIN;

DROP FUNCTION app_jobs.reschedule_jobs(bigint[], timestamptz, integer, integer, integer);

COMMIT;
