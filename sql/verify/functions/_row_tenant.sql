-- Verify pgjobs:functions/_row_tenant on pg

BEGIN;

SELECT 'app_jobs._row_tenant()'::pg_catalog.regprocedure;

ROLLBACK;
