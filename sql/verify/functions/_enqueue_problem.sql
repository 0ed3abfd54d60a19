-- Verify pgjobs:functions/_enqueue_problem on pg

BEGIN;

SELECT 'app_jobs._enqueue_problem(text, integer, text, text, text, interval, timestamptz, json, jsonb)'::pg_catalog.regprocedure;

ROLLBACK;
