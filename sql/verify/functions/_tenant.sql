-- Verify pgjobs:functions/_tenant on pg

BEGIN;

SELECT 'app_jobs._tenant(uuid, text)'::pg_catalog.regprocedure;

ROLLBACK;
