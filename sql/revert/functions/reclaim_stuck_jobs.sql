-- Revert pgjobs:functions/reclaim_stuck_jobs from pg

BEGIN;

DROP FUNCTION app_jobs.reclaim_stuck_jobs(interval);

COMMIT;
