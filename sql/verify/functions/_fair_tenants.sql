-- Verify pgjobs:functions/_fair_tenants on pg

BEGIN;

SELECT 'app_jobs._fair_tenants(integer, uuid, integer)'::pg_catalog.regprocedure;

ROLLBACK;
