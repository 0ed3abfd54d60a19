-- Verify pgjobs:functions/_check_backoff on pg

BEGIN;

SELECT 'app_jobs._check_backoff(jsonb, text)'::pg_catalog.regprocedure;

ROLLBACK;
