-- Revert pgjobs:functions/next_run from pg

BEGIN;

DROP FUNCTION app_jobs.next_run(jsonb, timestamptz);

COMMIT;
