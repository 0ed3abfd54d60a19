-- Deploy pgjobs:tables/jobs to pg
-- requires: schema
-- The hot table: only waiting and running jobs live here; finished jobs move to
-- app_jobs.job_history. The `state` column is the claim's availability flag: get_job reads
-- only state = 'ready' rows through an index whose order is exactly the claim's ORDER BY,
-- so scheduled (future run_at), queue-blocked and running jobs cost the claim nothing.

BEGIN;

CREATE TABLE app_jobs.jobs (
  id bigint GENERATED ALWAYS AS IDENTITY,
  database_id uuid NOT NULL DEFAULT '00000000-0000-0000-0000-000000000000',
  task_identifier text NOT NULL,
  payload jsonb NOT NULL DEFAULT '{}'::jsonb,
  priority integer NOT NULL DEFAULT 0,
  run_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
  attempts integer NOT NULL DEFAULT 0,
  max_attempts integer NOT NULL DEFAULT 25,
  locked_by text,
  locked_at timestamptz,
  key text,
  queue_name text,
  last_error text,
  created_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
  updated_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
  state text NOT NULL DEFAULT 'ready',
  scheduled_job_id bigint,
  superseded boolean NOT NULL DEFAULT false,
  fire_time timestamptz,
  uid uuid NOT NULL DEFAULT pg_catalog.gen_random_uuid(),
  correlation_id text,
  first_started_at timestamptz,
  progress numeric,
  progress_message text,
  cancel_requested_at timestamptz,
  backoff jsonb,
  rerun_of bigint,
  watched boolean NOT NULL DEFAULT false,
  CONSTRAINT jobs_pkey PRIMARY KEY (id),
  CONSTRAINT jobs_task_identifier_check
    CHECK (task_identifier <> '' AND pg_catalog.length(task_identifier) <= 255),
  CONSTRAINT jobs_key_check CHECK (key <> '' AND pg_catalog.length(key) <= 512),
  CONSTRAINT jobs_queue_name_check CHECK (queue_name <> '' AND pg_catalog.length(queue_name) <= 255),
  CONSTRAINT jobs_correlation_id_check
    CHECK (correlation_id <> '' AND pg_catalog.length(correlation_id) <= 255),
  CONSTRAINT jobs_progress_check CHECK (progress >= 0 AND progress <= 100),
  CONSTRAINT jobs_attempts_check CHECK (attempts >= 0),
  CONSTRAINT jobs_max_attempts_check CHECK (max_attempts >= 1),
  CONSTRAINT jobs_state_check CHECK (state IN ('ready', 'scheduled', 'blocked', 'running')),
  CONSTRAINT jobs_lock_check CHECK (
    (state = 'running') = (locked_by IS NOT NULL)
    AND (locked_by IS NULL) = (locked_at IS NULL))
);

-- The claim: exactly get_job's ORDER BY, over claimable rows only.
CREATE INDEX jobs_claim_idx ON app_jobs.jobs (priority, run_at, id)
  WHERE state = 'ready';
-- Promotion of due scheduled jobs (future run_at, retry backoff) by the pre-claim sweep.
CREATE INDEX jobs_scheduled_idx ON app_jobs.jobs (run_at)
  WHERE state = 'scheduled';
-- Running jobs by lock time: the stale-lock sweep and lease checks.
CREATE INDEX jobs_running_idx ON app_jobs.jobs (locked_at)
  WHERE state = 'running';
-- Job keys are unique per tenant.
CREATE UNIQUE INDEX jobs_key_idx ON app_jobs.jobs (database_id, key)
  WHERE key IS NOT NULL;
-- A named queue's jobs, to block and unblock them when the queue is taken and released.
CREATE INDEX jobs_queue_idx ON app_jobs.jobs (database_id, queue_name, state)
  WHERE queue_name IS NOT NULL;
-- find_job by uid.
CREATE UNIQUE INDEX jobs_uid_idx ON app_jobs.jobs (uid);
-- list_jobs by correlation id (no cost for jobs without one).
CREATE INDEX jobs_correlation_id_idx ON app_jobs.jobs (correlation_id, id)
  WHERE correlation_id IS NOT NULL;
-- Jobs enqueued by a schedule; one job per (schedule, fire time): run_due_schedules inserts
-- with ON CONFLICT DO NOTHING on it (manual runs have no fire time, and NULLs never clash).
CREATE UNIQUE INDEX jobs_scheduled_job_idx ON app_jobs.jobs (scheduled_job_id, fire_time)
  WHERE scheduled_job_id IS NOT NULL;

REVOKE ALL ON TABLE app_jobs.jobs FROM PUBLIC;

COMMENT ON TABLE app_jobs.jobs IS
  'Waiting and running jobs. Finished jobs (completed, failed, cancelled) move to app_jobs.job_history. Write through the app_jobs functions only.';
COMMENT ON COLUMN app_jobs.jobs.id IS 'Job id (bigint identity); kept when the job moves to job_history.';
COMMENT ON COLUMN app_jobs.jobs.database_id IS
  'Tenant. Job keys and named queues are scoped by it. The nil uuid is the default tenant (add_job(db_id := NULL, ...)).';
COMMENT ON COLUMN app_jobs.jobs.task_identifier IS 'Task name: which handler runs the job.';
COMMENT ON COLUMN app_jobs.jobs.payload IS 'Arguments for the handler (JSON).';
COMMENT ON COLUMN app_jobs.jobs.priority IS 'Lower numbers run first; ties go to the earlier run_at, then the older job.';
COMMENT ON COLUMN app_jobs.jobs.run_at IS 'Not handed out before this time.';
COMMENT ON COLUMN app_jobs.jobs.attempts IS 'Attempts started so far (get_job adds one).';
COMMENT ON COLUMN app_jobs.jobs.max_attempts IS 'After this many failed attempts the job fails for good and moves to job_history.';
COMMENT ON COLUMN app_jobs.jobs.locked_by IS 'Worker running the job, or NULL while it waits.';
COMMENT ON COLUMN app_jobs.jobs.locked_at IS 'When the running attempt was claimed.';
COMMENT ON COLUMN app_jobs.jobs.key IS
  'Optional job key, unique per tenant: add_job with an existing key replaces the waiting job in place.';
COMMENT ON COLUMN app_jobs.jobs.queue_name IS 'Optional named queue: jobs of one (tenant, queue) run one at a time.';
COMMENT ON COLUMN app_jobs.jobs.last_error IS 'Error of the latest failed attempt.';
COMMENT ON COLUMN app_jobs.jobs.state IS
  'Claim state (internal): ready = claimable now; scheduled = run_at in the future (promoted by get_job''s sweep when due); blocked = its serial queue is busy; running = locked by a worker.';
COMMENT ON COLUMN app_jobs.jobs.superseded IS
  'A running job whose key was taken by a new job (add_job) or removed (remove_job): it finishes undisturbed, but is never retried nor handed out again.';
COMMENT ON COLUMN app_jobs.jobs.uid IS 'Random uuid for outside reference (find_job takes it); kept in job_history.';
COMMENT ON COLUMN app_jobs.jobs.correlation_id IS 'Optional caller-chosen id tying related jobs together (tracing); list_jobs filters on it.';
COMMENT ON COLUMN app_jobs.jobs.first_started_at IS 'When the first attempt was claimed.';
COMMENT ON COLUMN app_jobs.jobs.progress IS 'Percent done (0-100) the running handler reported with set_progress.';
COMMENT ON COLUMN app_jobs.jobs.progress_message IS 'Message the running handler reported with set_progress.';
COMMENT ON COLUMN app_jobs.jobs.cancel_requested_at IS
  'cancel_job was called while the job ran: its worker cancels the handler and records the job cancelled.';
COMMENT ON COLUMN app_jobs.jobs.backoff IS
  'Retry delay options of this job (strategy, base, cap, jitter); NULL: those fail_job is given, else the default exp(min(attempts, 10)) seconds.';
COMMENT ON COLUMN app_jobs.jobs.rerun_of IS 'The finished job this one reruns (rerun_job).';
COMMENT ON COLUMN app_jobs.jobs.watched IS
  'Someone waits for this job (watch_job): its final state is announced with NOTIFY "jobs:finished".';
COMMENT ON COLUMN app_jobs.jobs.scheduled_job_id IS 'The app_jobs.scheduled_jobs row that enqueued this job, if any.';
COMMENT ON COLUMN app_jobs.jobs.fire_time IS
  'The fire time of the schedule this job runs for (set by run_due_schedules; NULL for a manual run_scheduled_job and for jobs not from a schedule).';

-- Inside CREATE EXTENSION pgjobs (its pg_extension row exists while the script runs), mark the
-- table and its identity sequence as user data, so pg_dump keeps the rows and the sequence's
-- position. pg_extension_config_dump only works in an extension script: sqitch and pgjobs
-- deploy skip this.
DO $$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_catalog.pg_extension WHERE extname = 'pgjobs') THEN
    PERFORM pg_catalog.pg_extension_config_dump('app_jobs.jobs', '');
    PERFORM pg_catalog.pg_extension_config_dump(pg_catalog.pg_get_serial_sequence('app_jobs.jobs', 'id')::regclass, '');
  END IF;
END
$$;

COMMIT;
