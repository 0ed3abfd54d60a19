-- Verify pgjobs:functions/_limit_indexes on pg

BEGIN;

SELECT 'app_jobs._limit_indexes()'::pg_catalog.regprocedure;

ROLLBACK;
