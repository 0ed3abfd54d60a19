-- Deploy pgjobs:tables/workers to pg
-- requires: schema
-- A worker that calls app_jobs.heartbeat() holds a lease here. While the lease is live its
-- jobs are never reclaimed, however long they run; once it lapses they are reclaimable at
-- once. Workers that never heartbeat (raw SQL callers) fall back to get_job's job_expiry.

BEGIN;

CREATE TABLE app_jobs.workers (
  worker_id text NOT NULL,
  lease_expires_at timestamptz NOT NULL,
  first_seen_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
  last_heartbeat_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
  CONSTRAINT workers_pkey PRIMARY KEY (worker_id)
);

-- The pre-claim sweep finds lapsed leases through this.
CREATE INDEX workers_lease_expires_at_idx ON app_jobs.workers (lease_expires_at);

REVOKE ALL ON TABLE app_jobs.workers FROM PUBLIC;

COMMENT ON TABLE app_jobs.workers IS
  'Worker leases renewed by app_jobs.heartbeat(): a live lease protects the worker''s jobs from reclaim; a lapsed one makes them reclaimable at once.';
COMMENT ON COLUMN app_jobs.workers.worker_id IS 'The worker_id the worker passes to get_job/complete_job/fail_job.';
COMMENT ON COLUMN app_jobs.workers.lease_expires_at IS 'The lease is live until this time; each heartbeat moves it forward.';
COMMENT ON COLUMN app_jobs.workers.first_seen_at IS 'First heartbeat of this worker id.';
COMMENT ON COLUMN app_jobs.workers.last_heartbeat_at IS 'Latest heartbeat.';

-- Inside CREATE EXTENSION pgjobs (its pg_extension row exists while the script runs), mark the
-- table as user data, so pg_dump keeps its rows. pg_extension_config_dump only works in an
-- extension script: sqitch and pgjobs deploy skip this.
DO $$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_catalog.pg_extension WHERE extname = 'pgjobs') THEN
    PERFORM pg_catalog.pg_extension_config_dump('app_jobs.workers', '');
  END IF;
END
$$;

COMMIT;
