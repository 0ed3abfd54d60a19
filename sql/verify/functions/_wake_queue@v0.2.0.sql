-- Verify pgjobs:functions/_wake_queue on pg

BEGIN;

SELECT 'app_jobs._wake_queue(uuid, text)'::pg_catalog.regprocedure;

ROLLBACK;
