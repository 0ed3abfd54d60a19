-- Deploy pgjobs:tables/workers to pg
-- requires: tables/workers@v0.3.0
-- 0.4.0: a lease is held by one process, not only by a worker_id. Each worker process draws a
-- random instance token at start and passes it to app_jobs.heartbeat: while the lease is live,
-- a heartbeat with another token for the same worker_id is refused (PJ307), so two live
-- processes started with the same --worker-id can never both run its jobs; once the lease
-- lapses (the process crashed) the next process takes it over. The token is a plain column,
-- not a session lock, so it works through a connection pooler. Heartbeats without a token (raw
-- SQL callers, workers before 0.4.0) renew the lease as before and keep the token unchanged.
-- (The table itself is as created in 0.1.0: deploy/tables/workers@v0.3.0.sql.)

BEGIN;

ALTER TABLE app_jobs.workers ADD COLUMN instance uuid;

COMMENT ON COLUMN app_jobs.workers.instance IS
  'The process holding the lease (a random token it passes to heartbeat): while the lease is live, heartbeats of another token for this worker_id are refused (PJ307). NULL: never given (raw SQL callers).';

COMMIT;
