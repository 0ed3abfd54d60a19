-- Deploy pgjobs:tables/job_attempts to pg
-- requires: schema
-- The attempt log: one row per attempt that did not end the job well (failed, lost to a
-- dead worker, cancelled while running), with the error and its details (the Python worker
-- sends the traceback as text and as structured frames). The attempt that completes a job
-- is not written here: its history row carries it (worker, started, finished), so a job
-- that succeeds costs one history write. find_job(..., with_attempts) joins both.

BEGIN;

CREATE TABLE app_jobs.job_attempts (
  id bigint GENERATED ALWAYS AS IDENTITY,
  job_id bigint NOT NULL,
  attempt integer NOT NULL,
  worker_id text,
  started_at timestamptz,
  finished_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
  outcome text NOT NULL,
  error_message text,
  error_details jsonb,
  CONSTRAINT job_attempts_pkey PRIMARY KEY (id),
  CONSTRAINT job_attempts_outcome_check CHECK (outcome IN ('failed', 'lost', 'cancelled'))
);

-- A job's attempts (find_job). Not unique: an attempt number comes back when attempts are
-- reset (a job key replaces the job, reschedule_jobs).
CREATE INDEX job_attempts_job_idx ON app_jobs.job_attempts (job_id, attempt);
-- cleanup_jobs removes old attempts by age.
CREATE INDEX job_attempts_finished_at_idx ON app_jobs.job_attempts (finished_at);

REVOKE ALL ON TABLE app_jobs.job_attempts FROM PUBLIC;

COMMENT ON TABLE app_jobs.job_attempts IS
  'Attempt log: every attempt that failed, was lost (taken back from a worker without a live lease) or was cancelled while running. A completed attempt lives in its job_history row instead. No foreign key: rows outlive nothing they point to (cleanup_jobs removes them with the history).';
COMMENT ON COLUMN app_jobs.job_attempts.attempt IS 'Attempt number (1 = first), as app_jobs.jobs.attempts counted it.';
COMMENT ON COLUMN app_jobs.job_attempts.outcome IS
  'failed (fail_job), lost (taken back from a worker whose lock expired or whose lease lapsed) or cancelled (cancel_job while it ran).';
COMMENT ON COLUMN app_jobs.job_attempts.error_details IS
  'Structured error details from fail_job, e.g. {"type": ..., "traceback": "...", "frames": [{"file", "line", "function", "code"}]}.';

-- Inside CREATE EXTENSION pgjobs (its pg_extension row exists while the script runs), mark the
-- table as user data, so pg_dump keeps its rows. pg_extension_config_dump only works in an
-- extension script: sqitch and pgjobs deploy skip this.
DO $$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_catalog.pg_extension WHERE extname = 'pgjobs') THEN
    PERFORM pg_catalog.pg_extension_config_dump('app_jobs.job_attempts', '');
    PERFORM pg_catalog.pg_extension_config_dump(pg_catalog.pg_get_serial_sequence('app_jobs.job_attempts', 'id')::regclass, '');
  END IF;
END
$$;

COMMIT;
