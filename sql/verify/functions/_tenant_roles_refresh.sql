-- Verify pgjobs:functions/_tenant_roles_refresh on pg

BEGIN;

SELECT 'app_jobs._tenant_roles_refresh()'::pg_catalog.regprocedure;

ROLLBACK;
