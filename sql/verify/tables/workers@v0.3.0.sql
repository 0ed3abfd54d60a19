-- Verify pgjobs:tables/workers on pg

BEGIN;

SELECT worker_id, lease_expires_at, first_seen_at, last_heartbeat_at
  FROM app_jobs.workers
 WHERE false;

ROLLBACK;
