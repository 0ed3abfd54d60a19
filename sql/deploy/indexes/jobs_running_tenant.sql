-- Deploy pgjobs:indexes/jobs_running_tenant to pg
-- requires: tables/jobs
-- Limits (0.5.0, app_jobs.job_limits): the claim counts the running jobs of a limit's key, and
-- this partial index over running jobs only counts a tenant's running jobs (tenant-only limits)
-- without reading the backlog. Small (running jobs only); a claim adds one entry to it.

BEGIN;

CREATE INDEX jobs_running_tenant_idx ON app_jobs.jobs (database_id)
  WHERE state = 'running';

COMMENT ON INDEX app_jobs.jobs_running_tenant_idx IS
  'Running jobs by tenant: the claim counts a limit''s running jobs through it (app_jobs.job_limits).';

COMMIT;
