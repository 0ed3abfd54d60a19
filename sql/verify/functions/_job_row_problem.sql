-- Verify pgjobs:functions/_job_row_problem on pg

BEGIN;

SELECT 1 / (app_jobs._job_row_problem('t', NULL, NULL, NULL, NULL, 1, NULL) IS NULL)::integer;
SELECT 1 / (app_jobs._job_row_problem('', NULL, NULL, NULL, NULL, 1, NULL) = 'jobs_task_identifier_check')::integer;

ROLLBACK;
