-- Verify pgjobs:functions/_count_queue on pg
-- Retired in 0.3.0.

BEGIN;

SELECT 1 / (pg_catalog.to_regprocedure('app_jobs._count_queue(uuid, text, integer)') IS NULL)::integer;

ROLLBACK;
