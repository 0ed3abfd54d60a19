-- Revert pgjobs:functions/_reclaim_job from pg

BEGIN;

DROP FUNCTION app_jobs._reclaim_job(app_jobs.jobs, text);

COMMIT;
