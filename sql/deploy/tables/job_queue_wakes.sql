-- Deploy pgjobs:tables/job_queue_wakes to pg
-- requires: tables/job_queue_deltas
-- Wake requests of serial queues. A free serial queue keeps only its head claimable; when
-- its next parked job cannot be made claimable right now (its row is held by another
-- transaction), or a waiting job leaves the queue other than by a claim, a request lands
-- here and get_job's sweep settles it (app_jobs._wake_queue). Until 0.3.0 these were the
-- zero rows of app_jobs.job_queue_deltas, next to job_count changes that are gone now.

BEGIN;

CREATE TABLE app_jobs.job_queue_wakes (
  database_id uuid NOT NULL,
  queue_name text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT pg_catalog.now()
);

CREATE INDEX job_queue_wakes_queue_idx ON app_jobs.job_queue_wakes (database_id, queue_name);

REVOKE ALL ON TABLE app_jobs.job_queue_wakes FROM PUBLIC;

COMMENT ON TABLE app_jobs.job_queue_wakes IS
  'Internal: wake requests of serial queues, settled by get_job''s sweep; normally empty.';

-- An upgrade carries over the wake requests pending right now.
INSERT INTO app_jobs.job_queue_wakes (database_id, queue_name, created_at)
SELECT d.database_id, d.queue_name, pg_catalog.min(d.created_at)
  FROM app_jobs.job_queue_deltas AS d
 WHERE d.delta = 0
 GROUP BY d.database_id, d.queue_name;

-- Inside CREATE EXTENSION / ALTER EXTENSION UPDATE, mark the table as user data, so pg_dump
-- keeps its rows. sqitch and pgjobs deploy skip this.
DO $$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_catalog.pg_extension WHERE extname = 'pgjobs') THEN
    PERFORM pg_catalog.pg_extension_config_dump('app_jobs.job_queue_wakes', '');
  END IF;
END
$$;

COMMIT;
