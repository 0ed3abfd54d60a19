-- Revert pgjobs:functions/_enqueue_problem from pg

BEGIN;

DROP FUNCTION app_jobs._enqueue_problem(text, integer, text, text, text, interval, timestamptz, json, jsonb);

COMMIT;
