-- Verify pgjobs:tables/job_queue_deltas on pg

BEGIN;

SELECT database_id, queue_name, delta, created_at FROM app_jobs.job_queue_deltas WHERE false;

ROLLBACK;
