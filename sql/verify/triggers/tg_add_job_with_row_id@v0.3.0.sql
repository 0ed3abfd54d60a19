-- Verify pgjobs:triggers/tg_add_job_with_row_id on pg

BEGIN;

SELECT 'app_jobs.tg_add_job_with_row_id()'::pg_catalog.regprocedure;

ROLLBACK;
