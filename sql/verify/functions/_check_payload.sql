-- Verify pgjobs:functions/_check_payload on pg

BEGIN;

SELECT app_jobs._check_payload('{"a": [1, 2.5e3, "\\u0000"]}'::json, 'verify');

ROLLBACK;
