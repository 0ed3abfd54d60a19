-- Verify pgjobs:functions/_check_payload_schemas on pg

BEGIN;

SELECT 'app_jobs._check_payload_schemas(app_jobs.job_spec[], text)'::pg_catalog.regprocedure;

ROLLBACK;
