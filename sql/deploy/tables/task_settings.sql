-- Deploy pgjobs:tables/task_settings to pg
-- requires: schema
-- Per-task settings kept in the database, so a job enqueued from any language (psql, a
-- trigger, the CLI, a schedule) gets the task's max_attempts, backoff, priority, queue and
-- timeout, not only one enqueued from Python. A row holds one source's settings of one task:
--   source 'code':     declared by the application (@app.task(...)), written when an App or
--                      worker starts (app_jobs.declare_task_settings); for every tenant;
--   source 'operator': set by an operator (app_jobs.set_task_settings, `pgjobs tasks set`),
--                      for one tenant (database_id) or for all (database_id NULL).
-- A NULL field is "not set here". The enqueue path resolves each field separately: the
-- caller's argument, else the tenant's operator row, else the all-tenants operator row, else
-- the code row, else the built-in default (max_attempts 25, priority 0, no queue, backoff and
-- timeout). code_version orders code declarations: a declaration with a lower version than the
-- stored one is ignored, so two application versions running side by side during a rolling
-- deploy do not overwrite each other back and forth.
-- payload_schema (issue 19): a JSON Schema the task's payloads must hold, checked by every
-- enqueue path; the whole schema of the first source that has one applies (never merged).

BEGIN;

CREATE TABLE app_jobs.task_settings (
  task_identifier text NOT NULL,
  database_id uuid,
  source text NOT NULL,
  max_attempts integer,
  backoff jsonb,
  priority integer,
  queue_name text,
  timeout interval,
  retention interval,
  payload_schema jsonb,
  code_version integer,
  updated_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
  CONSTRAINT task_settings_key UNIQUE NULLS NOT DISTINCT (task_identifier, source, database_id),
  CONSTRAINT task_settings_task_identifier_check
    CHECK (task_identifier <> '' AND pg_catalog.length(task_identifier) <= 255),
  CONSTRAINT task_settings_source_check CHECK (source IN ('code', 'operator')),
  CONSTRAINT task_settings_code_check
    CHECK (source = 'operator' OR database_id IS NULL),
  CONSTRAINT task_settings_max_attempts_check CHECK (max_attempts >= 1),
  CONSTRAINT task_settings_queue_name_check
    CHECK (queue_name <> '' AND pg_catalog.length(queue_name) <= 255),
  CONSTRAINT task_settings_backoff_check CHECK (pg_catalog.jsonb_typeof(backoff) = 'object'),
  CONSTRAINT task_settings_timeout_check
    CHECK (timeout > '0'::interval AND timeout <= '7 days'::interval),
  CONSTRAINT task_settings_retention_check CHECK (retention > '0'::interval),
  CONSTRAINT task_settings_payload_schema_check
    CHECK (pg_catalog.jsonb_typeof(payload_schema) IN ('object', 'boolean'))
);

REVOKE ALL ON TABLE app_jobs.task_settings FROM PUBLIC;

COMMENT ON TABLE app_jobs.task_settings IS
  'Per-task settings applied when an enqueue leaves a value out: one row per task and source (code: declared by the application, for all tenants; operator: set by an operator, for one tenant or all). Per field: argument > operator (tenant) > operator (all tenants) > code > built-in default.';
COMMENT ON COLUMN app_jobs.task_settings.database_id IS 'Tenant of an operator row; NULL: every tenant (code rows are always NULL).';
COMMENT ON COLUMN app_jobs.task_settings.source IS 'code (app_jobs.declare_task_settings) or operator (app_jobs.set_task_settings).';
COMMENT ON COLUMN app_jobs.task_settings.retention IS 'How long the task''s finished jobs are kept in job_history: cleanup_jobs deletes them once older, when that is shorter than its own older_than.';
COMMENT ON COLUMN app_jobs.task_settings.payload_schema IS 'A JSON Schema every payload of the task must hold at enqueue (add_job, add_jobs, triggers, schedules; PJ190 otherwise); checked by app_jobs._check_payload_schema when stored. Precedence as the other settings, whole schemas (not merged).';
COMMENT ON COLUMN app_jobs.task_settings.code_version IS 'Code rows: the declaring application''s settings version; a declaration with a lower one is ignored.';

COMMIT;
