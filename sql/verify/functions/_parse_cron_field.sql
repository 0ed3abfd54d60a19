-- Verify pgjobs:functions/_parse_cron_field on pg

BEGIN;

SELECT 'app_jobs._parse_cron_field(text, text, integer, integer, text[])'::pg_catalog.regprocedure;

ROLLBACK;
