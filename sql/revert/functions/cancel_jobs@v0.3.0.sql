-- Revert pgjobs:functions/cancel_jobs from pg

BEGIN;

DROP FUNCTION app_jobs.cancel_jobs(text, integer, timestamptz, text, uuid);

COMMIT;
