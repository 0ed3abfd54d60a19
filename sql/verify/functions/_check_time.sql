-- Verify pgjobs:functions/_check_time on pg

BEGIN;

SELECT app_jobs._check_time(pg_catalog.now(), 'verify');

ROLLBACK;
