-- Verify pgjobs:functions/claim_job on pg

BEGIN;

SELECT 'app_jobs.claim_job(text, bigint)'::pg_catalog.regprocedure;

ROLLBACK;
