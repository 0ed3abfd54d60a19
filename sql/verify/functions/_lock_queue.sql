-- Verify pgjobs:functions/_lock_queue on pg
-- The 0.3.0 definition: it works on app_jobs.job_queue_locks.

BEGIN;

SELECT 1 / (pg_catalog.strpos(pg_catalog.pg_get_functiondef('app_jobs._lock_queue(uuid, text, text, bigint)'::pg_catalog.regprocedure),
                               'app_jobs.job_queue_locks') > 0)::integer;

ROLLBACK;
