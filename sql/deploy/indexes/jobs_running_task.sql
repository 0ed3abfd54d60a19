-- Deploy pgjobs:indexes/jobs_running_task to pg
-- requires: tables/jobs
-- Limits (0.5.0, app_jobs.job_limits): the claim counts the running jobs of a limit's key, and
-- this partial index over running jobs only counts a task's running jobs (task-only and tenant-and-task limits)
-- without reading the backlog. Small (running jobs only); a claim adds one entry to it.

BEGIN;

CREATE INDEX jobs_running_task_idx ON app_jobs.jobs (task_identifier, database_id)
  WHERE state = 'running';

COMMENT ON INDEX app_jobs.jobs_running_task_idx IS
  'Running jobs by task and tenant: the claim counts a limit''s running jobs through it (app_jobs.job_limits).';

COMMIT;
