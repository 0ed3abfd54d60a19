-- Verify pgjobs:functions/heartbeat on pg

BEGIN;

SELECT 'app_jobs.heartbeat(text, interval)'::pg_catalog.regprocedure;

ROLLBACK;
