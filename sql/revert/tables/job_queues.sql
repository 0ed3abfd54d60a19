-- Revert pgjobs:tables/job_queues from pg
-- Back to the 0.2.0 table (deploy/tables/job_queues@v0.2.0.sql): the view becomes a table
-- again, its job_count counted now and its locks taken from app_jobs.job_queue_locks.

BEGIN;

CREATE TEMPORARY TABLE pgjobs_job_queues_revert ON COMMIT DROP AS
SELECT q.database_id, q.queue_name, q.job_count, q.locked_by, q.locked_at, q.created_at
  FROM app_jobs.job_queues AS q;

DROP VIEW app_jobs.job_queues;

CREATE TABLE app_jobs.job_queues (
  database_id uuid NOT NULL DEFAULT '00000000-0000-0000-0000-000000000000',
  queue_name text NOT NULL,
  job_count integer NOT NULL DEFAULT 0,
  locked_by text,
  locked_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
  CONSTRAINT job_queues_pkey PRIMARY KEY (database_id, queue_name),
  CONSTRAINT job_queues_job_count_check CHECK (job_count >= 0),
  CONSTRAINT job_queues_lock_check CHECK ((locked_by IS NULL) = (locked_at IS NULL))
);

-- The stale-lock safety net in app_jobs._sweep looks up old queue locks through this.
CREATE INDEX job_queues_locked_at_idx ON app_jobs.job_queues (locked_at)
  WHERE locked_at IS NOT NULL;

REVOKE ALL ON TABLE app_jobs.job_queues FROM PUBLIC;

COMMENT ON TABLE app_jobs.job_queues IS
  'Named serial queues, one row per (tenant, queue): while a job of the queue runs, locked_by/locked_at hold the queue and no other job of it is handed out.';
COMMENT ON COLUMN app_jobs.job_queues.database_id IS
  'Tenant owning the queue: queue names are scoped by tenant.';
COMMENT ON COLUMN app_jobs.job_queues.queue_name IS 'Queue name, as passed to add_job(queue_name := ...).';
COMMENT ON COLUMN app_jobs.job_queues.job_count IS
  'Jobs of this queue still in app_jobs.jobs (waiting or running); maintained at commit of the enqueuing transaction. The row is removed when it drops to zero while unlocked.';
COMMENT ON COLUMN app_jobs.job_queues.locked_by IS 'Worker running a job of this queue, or NULL.';
COMMENT ON COLUMN app_jobs.job_queues.locked_at IS 'When that worker took the queue.';

-- Inside CREATE EXTENSION pgjobs (its pg_extension row exists while the script runs), mark the
-- table as user data, so pg_dump keeps its rows. pg_extension_config_dump only works in an
-- extension script: sqitch and pgjobs deploy skip this.
DO $$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_catalog.pg_extension WHERE extname = 'pgjobs') THEN
    PERFORM pg_catalog.pg_extension_config_dump('app_jobs.job_queues', '');
  END IF;
END
$$;

INSERT INTO app_jobs.job_queues (database_id, queue_name, job_count, locked_by, locked_at, created_at)
SELECT r.database_id, r.queue_name, r.job_count, r.locked_by, r.locked_at, r.created_at
  FROM pgjobs_job_queues_revert AS r;

COMMIT;
