-- Verify pgjobs:types/job_spec on pg

BEGIN;

SELECT (NULL::app_jobs.job_spec).identifier;

ROLLBACK;
