-- Verify pgjobs:functions/_check_interval on pg

BEGIN;

SELECT app_jobs._check_interval(interval '1 hour', 'verify', interval '1 day');

ROLLBACK;
