-- Revert pgjobs:tables/jobs from pg
-- Back to the 0.5.0 table (deploy/tables/jobs@v0.5.0.sql): the shape rules of the input
-- columns and the claim's rules are CHECK constraints again (each validated against the rows
-- present), and jobs_uid_idx holds every job again.

BEGIN;

DROP INDEX app_jobs.jobs_uid_idx;
CREATE UNIQUE INDEX jobs_uid_idx ON app_jobs.jobs (uid);

ALTER TABLE app_jobs.jobs
  DROP CONSTRAINT jobs_rules_check,
  ADD CONSTRAINT jobs_attempts_check CHECK (attempts >= 0),
  ADD CONSTRAINT jobs_state_check
    CHECK (state IN ('ready', 'scheduled', 'blocked', 'running', 'paused', 'waiting')),
  ADD CONSTRAINT jobs_lock_check CHECK (
    (state = 'running') = (locked_by IS NOT NULL) AND (locked_by IS NULL) = (locked_at IS NULL)),
  ADD CONSTRAINT jobs_pending_dependencies_check CHECK (pending_dependencies >= 0),
  ADD CONSTRAINT jobs_waiting_check CHECK (state <> 'waiting' OR pending_dependencies > 0),
  ADD CONSTRAINT jobs_task_identifier_check
    CHECK (task_identifier <> '' AND pg_catalog.length(task_identifier) <= 255),
  ADD CONSTRAINT jobs_key_check CHECK (key <> '' AND pg_catalog.length(key) <= 512),
  ADD CONSTRAINT jobs_queue_name_check CHECK (queue_name <> '' AND pg_catalog.length(queue_name) <= 255),
  ADD CONSTRAINT jobs_correlation_id_check
    CHECK (correlation_id <> '' AND pg_catalog.length(correlation_id) <= 255),
  ADD CONSTRAINT jobs_progress_check CHECK (progress >= 0 AND progress <= 100),
  ADD CONSTRAINT jobs_max_attempts_check CHECK (max_attempts >= 1),
  ADD CONSTRAINT jobs_timeout_check CHECK (timeout > interval '0' AND timeout <= interval '7 days');

COMMIT;
