-- Verify pgjobs:functions/_count_queue on pg

BEGIN;

SELECT 'app_jobs._count_queue(uuid, text, integer)'::pg_catalog.regprocedure;

ROLLBACK;
