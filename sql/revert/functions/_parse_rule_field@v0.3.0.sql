-- Revert pgjobs:functions/_parse_rule_field from pg

BEGIN;

DROP FUNCTION app_jobs._parse_rule_field(jsonb, text, integer, integer);

COMMIT;
