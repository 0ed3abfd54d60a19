-- Revert pgjobs:functions/set_progress from pg

BEGIN;

DROP FUNCTION app_jobs.set_progress(text, bigint, numeric, text);

COMMIT;
