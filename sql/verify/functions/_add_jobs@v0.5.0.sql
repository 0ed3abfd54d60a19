-- Verify pgjobs:functions/_add_jobs on pg

BEGIN;

SELECT 'app_jobs._add_jobs(app_jobs.job_spec[], text[], jsonb[], interval[], text, text)'::pg_catalog.regprocedure;

ROLLBACK;
