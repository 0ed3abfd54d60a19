-- Verify pgjobs:tables/workers on pg
-- The lease row names the process holding it.

BEGIN;

SELECT worker_id, lease_expires_at, first_seen_at, last_heartbeat_at, instance
  FROM app_jobs.workers
 WHERE false;

ROLLBACK;
