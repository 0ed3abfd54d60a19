-- Deploy pgjobs:tables/job_limits to pg
-- requires: schema
-- requires: functions/_police_table
-- Limits (0.5.0): a row limits the jobs whose tenant and task equal its non-NULL keys (a NULL
-- key matches any value; at least one key is set): max_running (at most that many running at
-- once, jobs claimed into a worker's buffer included) and/or a rate, max_starts per period (a
-- token bucket of max_starts tokens refilled at max_starts per period). The claim (get_jobs)
-- probes this small table first and touches its rows only for candidates a limit matches: it
-- takes the matching rows FOR UPDATE (which serialises the claims of one limit until they
-- commit), counts the limit's running jobs (through jobs_running_task_idx and
-- jobs_running_tenant_idx, which exist while limits do: functions/_limit_indexes) and takes a token, so a limit is exact whatever the number of workers. tokens and
-- refilled_at are the bucket's state, written by the claim. Tenant data: row level security
-- as the other tenant tables (app_jobs._police_table).

BEGIN;

CREATE TABLE app_jobs.job_limits (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  database_id uuid,
  task_identifier text,
  max_running integer,
  max_starts integer,
  per_period interval,
  tokens double precision,
  refilled_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
  updated_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
  set_by text NOT NULL DEFAULT session_user,
  CONSTRAINT job_limits_key UNIQUE NULLS NOT DISTINCT (database_id, task_identifier),
  CONSTRAINT job_limits_some_key_check CHECK (database_id IS NOT NULL OR task_identifier IS NOT NULL),
  CONSTRAINT job_limits_task_identifier_check
    CHECK (task_identifier <> '' AND pg_catalog.length(task_identifier) <= 255),
  CONSTRAINT job_limits_some_limit_check CHECK (max_running IS NOT NULL OR max_starts IS NOT NULL),
  CONSTRAINT job_limits_max_running_check CHECK (max_running BETWEEN 0 AND 1000000),
  CONSTRAINT job_limits_rate_check CHECK (
    (max_starts IS NULL) = (per_period IS NULL)
    AND (max_starts IS NULL) = (tokens IS NULL)
    AND (max_starts IS NULL) = (refilled_at IS NULL)
    AND max_starts BETWEEN 1 AND 1000000
    AND per_period >= interval '1 millisecond' AND per_period <= interval '366 days'
    AND tokens >= 0 AND tokens <= max_starts)
);

REVOKE ALL ON TABLE app_jobs.job_limits FROM PUBLIC;

SELECT app_jobs._police_table('app_jobs.job_limits');

COMMENT ON TABLE app_jobs.job_limits IS
  'Concurrency and rate limits (set_job_limit, remove_job_limit, list_job_limits): a row limits the jobs whose tenant and task equal its non-NULL keys, enforced by the claim exactly, whatever the number of workers. Write through set_job_limit and remove_job_limit only.';
COMMENT ON COLUMN app_jobs.job_limits.database_id IS 'Tenant whose jobs are limited; NULL: every tenant (one limit shared by all of them).';
COMMENT ON COLUMN app_jobs.job_limits.task_identifier IS 'Task whose jobs are limited; NULL: every task (of the tenant).';
COMMENT ON COLUMN app_jobs.job_limits.max_running IS 'At most this many matched jobs running at once (claimed into a worker''s buffer included); 0 holds them all back; NULL: no concurrency limit.';
COMMENT ON COLUMN app_jobs.job_limits.max_starts IS 'Rate: at most max_starts starts at once, refilled at max_starts per per_period (a token bucket); NULL: no rate limit.';
COMMENT ON COLUMN app_jobs.job_limits.per_period IS 'The rate''s period (1 millisecond to 366 days); set with max_starts.';
COMMENT ON COLUMN app_jobs.job_limits.tokens IS 'Internal: starts the bucket held at refilled_at (written by the claim).';
COMMENT ON COLUMN app_jobs.job_limits.refilled_at IS 'Internal: when tokens was last brought up to date (written by the claim).';
COMMENT ON COLUMN app_jobs.job_limits.set_by IS 'Login role (session_user) that last set the limit.';

COMMIT;
