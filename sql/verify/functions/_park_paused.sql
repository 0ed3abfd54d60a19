-- Verify pgjobs:functions/_park_paused on pg

BEGIN;

SELECT 'app_jobs._park_paused(integer, timestamptz, bigint)'::pg_catalog.regprocedure;

ROLLBACK;
