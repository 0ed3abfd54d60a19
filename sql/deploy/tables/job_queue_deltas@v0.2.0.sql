-- Deploy pgjobs:tables/job_queue_deltas to pg
-- requires: schema
-- Enqueuing transactions never wait for a queue row: when the row is busy at their commit
-- (a claim, a release, another producer), their job_count change lands here instead, and
-- whoever next holds the row folds it in (app_jobs._count_queue, get_job's sweep). Waiting
-- would let two producers that enqueue into the same queues in opposite orders deadlock at
-- COMMIT, failing the user's transaction. A zero delta is a wake request for the queue
-- (see app_jobs._wake_queue).

BEGIN;

CREATE TABLE app_jobs.job_queue_deltas (
  database_id uuid NOT NULL,
  queue_name text NOT NULL,
  delta integer NOT NULL,
  created_at timestamptz NOT NULL DEFAULT pg_catalog.now()
);

CREATE INDEX job_queue_deltas_queue_idx ON app_jobs.job_queue_deltas (database_id, queue_name);

REVOKE ALL ON TABLE app_jobs.job_queue_deltas FROM PUBLIC;

COMMENT ON TABLE app_jobs.job_queue_deltas IS
  'Internal: job_count changes of app_jobs.job_queues waiting to be folded in by whoever next holds the queue row, and wake requests (delta 0); normally empty.';

-- Inside CREATE EXTENSION pgjobs (its pg_extension row exists while the script runs), mark the
-- table as user data, so pg_dump keeps its rows. pg_extension_config_dump only works in an
-- extension script: sqitch and pgjobs deploy skip this.
DO $$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_catalog.pg_extension WHERE extname = 'pgjobs') THEN
    PERFORM pg_catalog.pg_extension_config_dump('app_jobs.job_queue_deltas', '');
  END IF;
END
$$;

COMMIT;
