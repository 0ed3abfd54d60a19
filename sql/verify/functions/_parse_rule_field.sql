-- Verify pgjobs:functions/_parse_rule_field on pg
-- The 0.4.0 definition: 2.0 is the whole number 2.

BEGIN;

SELECT 1 / (app_jobs._parse_rule_field('[2.0, {"start": 4.0, "end": 6, "step": 2e0}]', 'hour', 0, 23) = '{2,4,6}')::integer;

ROLLBACK;
