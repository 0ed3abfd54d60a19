-- Verify pgjobs:functions/_finish_waiting_jobs on pg

BEGIN;

SELECT 'app_jobs._finish_waiting_jobs(bigint[], text, text)'::pg_catalog.regprocedure;

ROLLBACK;
