-- Verify pgjobs:functions/_sweep on pg

BEGIN;

SELECT 'app_jobs._sweep(interval)'::pg_catalog.regprocedure;

ROLLBACK;
