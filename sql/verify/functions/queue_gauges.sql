-- Verify pgjobs:functions/queue_gauges on pg

BEGIN;

SELECT 'app_jobs.queue_gauges(interval, integer)'::pg_catalog.regprocedure;

ROLLBACK;
