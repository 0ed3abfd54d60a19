-- Verify pgjobs:functions/_tenant_check on pg

BEGIN;

SELECT 'app_jobs._tenant_check(uuid, text)'::pg_catalog.regprocedure;

ROLLBACK;
