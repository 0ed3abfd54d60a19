-- Verify pgjobs:triggers/tg_add_job_with_fields on pg

BEGIN;

SELECT 'app_jobs.tg_add_job_with_fields()'::pg_catalog.regprocedure;

ROLLBACK;
