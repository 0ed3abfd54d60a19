-- Verify pgjobs:functions/resume_jobs on pg

BEGIN;

SELECT 'app_jobs.resume_jobs(text, text, uuid)'::pg_catalog.regprocedure;

ROLLBACK;
