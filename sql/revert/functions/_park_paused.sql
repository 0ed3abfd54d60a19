-- Revert pgjobs:functions/_park_paused from pg

BEGIN;

DROP FUNCTION app_jobs._park_paused(integer, timestamptz, bigint);

COMMIT;
