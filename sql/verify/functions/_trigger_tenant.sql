-- Verify pgjobs:functions/_trigger_tenant on pg

BEGIN;

SELECT 'app_jobs._trigger_tenant(text, text, text, text, text, text)'::pg_catalog.regprocedure;

ROLLBACK;
