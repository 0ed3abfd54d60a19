-- Verify pgjobs:tables/job_queue_deltas on pg
-- Retired in 0.3.0.

BEGIN;

SELECT 1 / (pg_catalog.to_regclass('app_jobs.job_queue_deltas') IS NULL)::integer;

ROLLBACK;
