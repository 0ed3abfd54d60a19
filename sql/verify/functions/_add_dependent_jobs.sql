-- Verify pgjobs:functions/_add_dependent_jobs on pg

BEGIN;

SELECT 'app_jobs._add_dependent_jobs(app_jobs.job_spec[], text[], jsonb[], interval[], text, text, jsonb[])'::pg_catalog.regprocedure;

ROLLBACK;
