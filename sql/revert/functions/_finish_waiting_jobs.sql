-- Revert pgjobs:functions/_finish_waiting_jobs from pg

BEGIN;

DROP FUNCTION app_jobs._finish_waiting_jobs(bigint[], text, text);

COMMIT;
