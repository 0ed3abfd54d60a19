-- Verify pgjobs:functions/heartbeat on pg
-- The definition that bounds worker_id and refuses another process's token (PJ307).

BEGIN;

SELECT 1 / (pg_catalog.strpos(pg_catalog.pg_get_functiondef('app_jobs.heartbeat(text, interval, uuid)'::pg_catalog.regprocedure),
                               'PJ307') > 0)::integer;

ROLLBACK;
