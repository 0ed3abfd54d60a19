-- Verify pgjobs:functions/_retry_delay on pg
-- The 0.4.0 definition: a tiny base gives a delay, not an error.

BEGIN;

SELECT 1 / (app_jobs._retry_delay('{"base": 1e-400, "jitter": 1e-400}', 3) >= interval '0')::integer;

ROLLBACK;
