-- Verify pgjobs:functions/_parse_schedule on pg

BEGIN;

SELECT 'app_jobs._parse_schedule(jsonb)'::pg_catalog.regprocedure;

ROLLBACK;
