-- Deploy pgjobs:tables/scheduled_jobs to pg
-- requires: tables/scheduled_jobs@v0.3.0
-- A schedule takes every parameter add_job takes (0.4.0): correlation_id and backoff of the
-- jobs it enqueues, and timeout, and max_attempts and priority may be left
-- out (NULL), so the task's settings (app_jobs.task_settings) apply to its jobs as they do to
-- any other enqueue. Existing schedules keep the values they stored.
-- (The table itself is as created in 0.1.0: deploy/tables/scheduled_jobs@v0.3.0.sql.)

BEGIN;

ALTER TABLE app_jobs.scheduled_jobs
  ALTER COLUMN max_attempts DROP NOT NULL,
  ALTER COLUMN max_attempts DROP DEFAULT,
  ALTER COLUMN priority DROP NOT NULL,
  ALTER COLUMN priority DROP DEFAULT,
  ADD COLUMN correlation_id text,
  ADD COLUMN backoff jsonb,
  ADD COLUMN timeout interval,
  ADD CONSTRAINT scheduled_jobs_correlation_id_check
    CHECK (correlation_id <> '' AND pg_catalog.length(correlation_id) <= 255),
  ADD CONSTRAINT scheduled_jobs_backoff_check CHECK (pg_catalog.jsonb_typeof(backoff) = 'object'),
  ADD CONSTRAINT scheduled_jobs_timeout_check
    CHECK (timeout > '0'::interval AND timeout <= '7 days'::interval);

COMMENT ON COLUMN app_jobs.scheduled_jobs.max_attempts IS 'max_attempts of the jobs it enqueues; NULL: the task''s settings (app_jobs.task_settings), else 25.';
COMMENT ON COLUMN app_jobs.scheduled_jobs.priority IS 'priority of the jobs it enqueues; NULL: the task''s settings, else 0.';
COMMENT ON COLUMN app_jobs.scheduled_jobs.correlation_id IS 'correlation_id of the jobs it enqueues (add_job''s).';
COMMENT ON COLUMN app_jobs.scheduled_jobs.timeout IS 'timeout of the jobs it enqueues (add_job''s); NULL: the task''s settings.';
COMMENT ON COLUMN app_jobs.scheduled_jobs.backoff IS 'Retry delay options of the jobs it enqueues (add_job''s backoff); NULL: the task''s settings.';

COMMIT;
