-- Verify pgjobs:functions/_settle_dependants on pg

BEGIN;

SELECT 'app_jobs._settle_dependants(bigint, text, text)'::pg_catalog.regprocedure;

ROLLBACK;
