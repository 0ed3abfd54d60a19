-- Verify pgjobs:functions/_tenant_roles_used on pg

BEGIN;

SELECT 'app_jobs._tenant_roles_used()'::pg_catalog.regprocedure;

ROLLBACK;
