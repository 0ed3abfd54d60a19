-- Verify pgjobs:functions/create_history_partitions on pg

BEGIN;

SELECT 'app_jobs.create_history_partitions(integer)'::pg_catalog.regprocedure;

ROLLBACK;
