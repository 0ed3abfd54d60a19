-- Verify pgjobs:functions/unregister_worker on pg

BEGIN;

SELECT 1 / (pg_catalog.to_regprocedure('app_jobs.unregister_worker(text, uuid)') IS NOT NULL)::integer;

ROLLBACK;
