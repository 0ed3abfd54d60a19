-- Revert pgjobs:functions/park_paused_jobs from pg

BEGIN;

DROP FUNCTION app_jobs.park_paused_jobs(integer);

COMMIT;
