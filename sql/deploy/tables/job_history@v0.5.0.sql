-- Deploy pgjobs:tables/job_history to pg
-- requires: schema
-- Finished jobs leave the hot table for good and land here. Range-partitioned by the day
-- they finished (UTC), so retention drops whole partitions instead of deleting rows.
-- Day partitions are created ahead of time by app_jobs.create_history_partitions() (the worker
-- calls it; so can pg_cron), never by an install script; the default partition catches rows no
-- day partition covers. No foreign keys, and the status is text with a CHECK, so history never
-- blocks or constrains the hot path.
-- The parent has no index and no key: each partition carries its own primary key
-- (id, finished_at). Rows of one day live in one partition, so that is unique table-wide. This is
-- what lets pg_dump/pg_restore copy an extension install: day partitions made after CREATE
-- EXTENSION are ordinary tables to pg_dump, which restores them (table, ATTACH, then their
-- key) next to the parent CREATE EXTENSION made; an index on the parent would be made twice.

BEGIN;

CREATE TABLE app_jobs.job_history (
  id bigint NOT NULL,
  database_id uuid NOT NULL,
  task_identifier text NOT NULL,
  payload jsonb NOT NULL,
  priority integer NOT NULL,
  run_at timestamptz NOT NULL,
  attempts integer NOT NULL,
  max_attempts integer NOT NULL,
  key text,
  queue_name text,
  status text NOT NULL,
  last_error text,
  worker_id text,
  scheduled_job_id bigint,
  fire_time timestamptz,
  created_at timestamptz NOT NULL,
  locked_at timestamptz,
  finished_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
  uid uuid NOT NULL DEFAULT pg_catalog.gen_random_uuid(),
  correlation_id text,
  first_started_at timestamptz,
  result jsonb,
  backoff jsonb,
  rerun_of bigint,
  CONSTRAINT job_history_status_check CHECK (status IN ('completed', 'failed', 'cancelled'))
) PARTITION BY RANGE (finished_at);

CREATE TABLE app_jobs.job_history_default PARTITION OF app_jobs.job_history (
  CONSTRAINT job_history_default_pkey PRIMARY KEY (id, finished_at)
) DEFAULT;

-- list_jobs pages newest first by (finished_at, id) and filters by one of these; queue_stats
-- reads the last hour through them. They live on each partition, not on the parent (see above):
-- create_history_partitions copies this partition's indexes (CREATE TABLE ... LIKE
-- job_history_default INCLUDING INDEXES), so every day partition has the same set, and old days
-- cost nothing.
CREATE INDEX job_history_default_finished_idx ON app_jobs.job_history_default (finished_at, id);
CREATE INDEX job_history_default_task_idx
  ON app_jobs.job_history_default (task_identifier, finished_at, id);
-- Partial: a queue, a correlation id, an unsuccessful status, a tenant other than the
-- default one are rare or absent in many deployments, and cost those completions nothing.
-- (Listing the default tenant's jobs reads the finished_at index.)
CREATE INDEX job_history_default_database_idx
  ON app_jobs.job_history_default (database_id, finished_at, id)
  WHERE database_id <> '00000000-0000-0000-0000-000000000000'::uuid;
CREATE INDEX job_history_default_queue_idx
  ON app_jobs.job_history_default (queue_name, finished_at, id)
  WHERE queue_name IS NOT NULL;
CREATE INDEX job_history_default_correlation_id_idx
  ON app_jobs.job_history_default (correlation_id, finished_at, id)
  WHERE correlation_id IS NOT NULL;
CREATE INDEX job_history_default_unsuccessful_idx ON app_jobs.job_history_default (finished_at, id)
  WHERE status <> 'completed';
CREATE INDEX job_history_default_uid_idx ON app_jobs.job_history_default (uid);

REVOKE ALL ON TABLE app_jobs.job_history FROM PUBLIC;
REVOKE ALL ON TABLE app_jobs.job_history_default FROM PUBLIC;

COMMENT ON TABLE app_jobs.job_history IS
  'Finished jobs (completed, failed, cancelled), partitioned by day of finished_at (UTC). Rows are never updated.';
COMMENT ON TABLE app_jobs.job_history_default IS
  'Catches finished jobs on days no partition covers yet; app_jobs.create_history_partitions() keeps it empty.';
COMMENT ON COLUMN app_jobs.job_history.id IS 'The job id it had in app_jobs.jobs.';
COMMENT ON COLUMN app_jobs.job_history.status IS 'completed, failed (no attempts left, or failed by an admin) or cancelled (removed before it ran).';
COMMENT ON COLUMN app_jobs.job_history.last_error IS 'Error of the last failed attempt (the final error for a failed job).';
COMMENT ON COLUMN app_jobs.job_history.worker_id IS 'Worker that ran the final attempt, if one did.';
COMMENT ON COLUMN app_jobs.job_history.fire_time IS 'The schedule fire time the job ran for, if a schedule enqueued it.';
COMMENT ON COLUMN app_jobs.job_history.locked_at IS 'When the final attempt started.';
COMMENT ON COLUMN app_jobs.job_history.finished_at IS 'When the job left app_jobs.jobs; the partition key.';
COMMENT ON COLUMN app_jobs.job_history.uid IS 'The uid it had in app_jobs.jobs.';
COMMENT ON COLUMN app_jobs.job_history.first_started_at IS 'When its first attempt was claimed (NULL: it never ran).';
COMMENT ON COLUMN app_jobs.job_history.result IS 'What complete_job was given (the handler''s return value).';
COMMENT ON COLUMN app_jobs.job_history.rerun_of IS 'The finished job this one reran (rerun_job).';

-- Inside CREATE EXTENSION pgjobs (its pg_extension row exists while the script runs), mark the
-- table as user data, so pg_dump keeps its rows. pg_extension_config_dump only works in an
-- extension script: sqitch and pgjobs deploy skip this.
DO $$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_catalog.pg_extension WHERE extname = 'pgjobs') THEN
    PERFORM pg_catalog.pg_extension_config_dump('app_jobs.job_history', '');
    PERFORM pg_catalog.pg_extension_config_dump('app_jobs.job_history_default', '');
  END IF;
END
$$;

COMMIT;
