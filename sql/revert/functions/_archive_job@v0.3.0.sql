-- Revert pgjobs:functions/_archive_job from pg

BEGIN;

DROP FUNCTION app_jobs._archive_job(app_jobs.jobs, text, jsonb);

COMMIT;
