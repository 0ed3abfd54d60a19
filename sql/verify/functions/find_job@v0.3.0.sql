-- Verify pgjobs:functions/find_job on pg

BEGIN;

SELECT 'app_jobs.find_job(bigint, uuid, boolean)'::pg_catalog.regprocedure;

ROLLBACK;
