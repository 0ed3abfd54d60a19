-- Verify pgjobs:functions/_unlock_queue on pg

BEGIN;

SELECT 'app_jobs._unlock_queue(uuid, text, text)'::pg_catalog.regprocedure;

ROLLBACK;
