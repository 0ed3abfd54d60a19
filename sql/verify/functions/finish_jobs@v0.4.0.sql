-- Verify pgjobs:functions/finish_jobs on pg

BEGIN;

SELECT 'app_jobs.finish_jobs(text, bigint[], json[], text[], json[], boolean[], json[])'::pg_catalog.regprocedure;

ROLLBACK;
