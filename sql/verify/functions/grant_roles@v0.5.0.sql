-- Verify pgjobs:functions/grant_roles on pg

BEGIN;

SELECT 'app_jobs.grant_roles(text, text, text)'::pg_catalog.regprocedure;

ROLLBACK;
