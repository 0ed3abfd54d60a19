-- Verify pgjobs:functions/_take_job on pg

BEGIN;

SELECT 'app_jobs._take_job(bigint, text)'::pg_catalog.regprocedure;
SELECT 1 / pg_catalog.strpos(pg_catalog.pg_get_functiondef('app_jobs._take_job(bigint, text)'::pg_catalog.regprocedure), 'started_attempt');

ROLLBACK;
