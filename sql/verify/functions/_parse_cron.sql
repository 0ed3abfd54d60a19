-- Verify pgjobs:functions/_parse_cron on pg

BEGIN;

SELECT 'app_jobs._parse_cron(text)'::pg_catalog.regprocedure;

ROLLBACK;
