-- Verify pgjobs:triggers/tg_add_job_with_row on pg

BEGIN;

SELECT 'app_jobs.tg_add_job_with_row()'::pg_catalog.regprocedure;

ROLLBACK;
