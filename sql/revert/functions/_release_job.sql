-- Revert pgjobs:functions/_release_job from pg

BEGIN;

DROP FUNCTION app_jobs._release_job(app_jobs.jobs, text, boolean);

COMMIT;
