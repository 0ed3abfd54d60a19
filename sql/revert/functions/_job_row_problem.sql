-- Revert pgjobs:functions/_job_row_problem from pg

BEGIN;

DROP FUNCTION app_jobs._job_row_problem(text, text, text, text, numeric, integer, interval);

COMMIT;
