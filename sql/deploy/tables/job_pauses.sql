-- Deploy pgjobs:tables/job_pauses to pg
-- requires: schema
-- Pause and resume (0.4.0). A row pauses the waiting jobs it matches: each of its non-NULL keys
-- (tenant, queue, task) equals the job's; a NULL key matches any value (database_id NULL: every
-- tenant). At least one key is set. Pausing writes only this row: no job is rewritten in the
-- pause call. The claim (get_jobs) reads this small table first and, only when it has rows,
-- checks each candidate: a matched job is parked as state 'paused' (out of the claim index)
-- together with a bounded batch of the next matched jobs in claim order, so a paused backlog
-- leaves the claim index after a few claims. pause_jobs and resume_jobs take this table's
-- ACCESS EXCLUSIVE lock, which waits for every claim in flight (each holds the table's
-- ACCESS SHARE lock from its probe until it commits) and makes new claims wait: no paused job
-- is handed out after a pause commits.

BEGIN;

CREATE TABLE app_jobs.job_pauses (
  database_id uuid,
  queue_name text,
  task_identifier text,
  paused_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
  paused_by text NOT NULL DEFAULT session_user,
  reason text,
  CONSTRAINT job_pauses_key UNIQUE NULLS NOT DISTINCT (database_id, queue_name, task_identifier),
  CONSTRAINT job_pauses_some_key_check
    CHECK (database_id IS NOT NULL OR queue_name IS NOT NULL OR task_identifier IS NOT NULL),
  CONSTRAINT job_pauses_queue_name_check
    CHECK (queue_name <> '' AND pg_catalog.length(queue_name) <= 255),
  CONSTRAINT job_pauses_task_identifier_check
    CHECK (task_identifier <> '' AND pg_catalog.length(task_identifier) <= 255),
  CONSTRAINT job_pauses_reason_check CHECK (pg_catalog.length(reason) <= 1000)
);

REVOKE ALL ON TABLE app_jobs.job_pauses FROM PUBLIC;

COMMENT ON TABLE app_jobs.job_pauses IS
  'Pauses (pause_jobs, resume_jobs): a row holds back every waiting job whose tenant, queue and task equal its non-NULL keys. Running jobs finish undisturbed. Write through pause_jobs and resume_jobs only.';
COMMENT ON COLUMN app_jobs.job_pauses.database_id IS 'Tenant whose jobs are paused; NULL: every tenant.';
COMMENT ON COLUMN app_jobs.job_pauses.queue_name IS 'Named queue whose jobs are paused; NULL: any queue or none.';
COMMENT ON COLUMN app_jobs.job_pauses.task_identifier IS 'Task whose jobs are paused; NULL: any task.';
COMMENT ON COLUMN app_jobs.job_pauses.paused_by IS 'Login role (session_user) that paused.';
COMMENT ON COLUMN app_jobs.job_pauses.reason IS 'Free text given to pause_jobs (at most 1000 characters).';

COMMIT;
