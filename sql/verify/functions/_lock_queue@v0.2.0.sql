-- Verify pgjobs:functions/_lock_queue on pg

BEGIN;

SELECT 'app_jobs._lock_queue(uuid, text, text, bigint)'::pg_catalog.regprocedure;

ROLLBACK;
