-- Revert pgjobs:tables/job_queue_deltas from pg
-- Back to the 0.2.0 table (deploy/tables/job_queue_deltas@v0.2.0.sql), holding the pending
-- wake requests as zero deltas again.

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

INSERT INTO app_jobs.job_queue_deltas (database_id, queue_name, delta, created_at)
SELECT w.database_id, w.queue_name, 0, w.created_at
  FROM app_jobs.job_queue_wakes AS w;

COMMIT;
