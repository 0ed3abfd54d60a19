-- Deploy pgjobs:tables/job_queues to pg
-- requires: schema
-- One small row per (tenant, named queue). It carries the serial-queue lock (locked_by,
-- locked_at) and the count of the queue's jobs. Producers only touch it at commit time
-- (see triggers/jobs_queue_count), so a long enqueuing transaction never holds it.

BEGIN;

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

COMMIT;
