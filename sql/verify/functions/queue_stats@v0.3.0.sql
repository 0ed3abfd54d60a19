-- Verify pgjobs:functions/queue_stats on pg

BEGIN;

SELECT 'app_jobs.queue_stats()'::pg_catalog.regprocedure;

ROLLBACK;
