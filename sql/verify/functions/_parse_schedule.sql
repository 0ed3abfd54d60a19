-- Verify pgjobs:functions/_parse_schedule on pg
-- The 0.4.0 definition: start and end within 0001-01-02 .. 9999-12-30.

BEGIN;

SELECT 1 / (pg_catalog.strpos(pg_catalog.pg_get_functiondef('app_jobs._parse_schedule(jsonb)'::pg_catalog.regprocedure),
                               '9999-12-30') > 0)::integer;

ROLLBACK;
