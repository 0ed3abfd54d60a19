-- Verify pgjobs:functions/queue_stats on pg
-- The 0.4.0 definition: ages counted from 0001-01-02 at the earliest.

BEGIN;

SELECT 1 / (pg_catalog.strpos(pg_catalog.pg_get_functiondef('app_jobs.queue_stats()'::pg_catalog.regprocedure),
                               '0001-01-02') > 0)::integer;

ROLLBACK;
