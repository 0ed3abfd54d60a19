-- Verify pgjobs:functions/settle_jobs on pg

BEGIN;

SELECT 'app_jobs.settle_jobs(text, bigint[], boolean)'::pg_catalog.regprocedure;

ROLLBACK;
