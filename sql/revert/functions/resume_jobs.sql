-- Revert pgjobs:functions/resume_jobs from pg

BEGIN;

DROP FUNCTION app_jobs.resume_jobs(text, text, uuid);

COMMIT;
