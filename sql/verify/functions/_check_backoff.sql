-- Verify pgjobs:functions/_check_backoff on pg
-- The 0.4.0 definition: base and cap from a millisecond.

BEGIN;

SELECT 1 / (pg_catalog.strpos(pg_catalog.pg_get_functiondef('app_jobs._check_backoff(jsonb, text)'::pg_catalog.regprocedure),
                               '0.001') > 0)::integer;

ROLLBACK;
