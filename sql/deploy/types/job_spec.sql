-- Deploy pgjobs:types/job_spec to pg
-- requires: schema
-- The arguments of add_job as a composite, so add_jobs can take many jobs in one call:
--   SELECT * FROM app_jobs.add_jobs(ARRAY[
--     ROW(NULL, 'send_email', '{"to": "a@b.c"}', NULL, NULL, NULL, NULL, NULL)::app_jobs.job_spec]);

BEGIN;

CREATE TYPE app_jobs.job_spec AS (
  db_id uuid,
  identifier text,
  payload json,
  job_key text,
  queue_name text,
  run_at timestamptz,
  max_attempts integer,
  priority integer
);

REVOKE ALL ON TYPE app_jobs.job_spec FROM PUBLIC;

COMMENT ON TYPE app_jobs.job_spec IS
  'One job for app_jobs.add_jobs: the arguments of add_job, in its order. NULL fields take add_job''s defaults (tenant: the default tenant; payload {}; run_at now; max_attempts 25; priority 0).';

COMMIT;
