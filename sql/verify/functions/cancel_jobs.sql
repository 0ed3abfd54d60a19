-- Verify pgjobs:functions/cancel_jobs on pg
-- The 0.4.0 signature: an explicit tenant scope.

BEGIN;

SELECT 'app_jobs.cancel_jobs(text, integer, timestamptz, text, uuid, boolean)'::pg_catalog.regprocedure;

ROLLBACK;
