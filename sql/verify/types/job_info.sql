-- Verify pgjobs:types/job_info on pg

BEGIN;

SELECT (NULL::app_jobs.job_info).status, (NULL::app_jobs.job_info).attempt_log;

ROLLBACK;
