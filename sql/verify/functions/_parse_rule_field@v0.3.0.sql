-- Verify pgjobs:functions/_parse_rule_field on pg

BEGIN;

SELECT 'app_jobs._parse_rule_field(jsonb, text, integer, integer)'::pg_catalog.regprocedure;

ROLLBACK;
