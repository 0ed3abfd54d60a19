-- Verify pgjobs:functions/_retry_delay on pg

BEGIN;

SELECT 'app_jobs._retry_delay(jsonb, integer)'::pg_catalog.regprocedure;

ROLLBACK;
