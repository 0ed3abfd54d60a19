-- Deploy pgjobs:functions/_limit_indexes to pg
-- requires: tables/jobs
-- requires: tables/job_limits
-- Limits (0.5.0): the two indexes the claim counts a limit's running jobs through, made when
-- the first limit is set and dropped when the last one is removed (set_job_limit and
-- remove_job_limit call this), so that without limits a claim, which adds its jobs to every
-- index whose predicate they meet, pays for no index of theirs:
--   jobs_running_task_idx (task_identifier, database_id) WHERE state = 'running': task-only
--     and tenant-and-task limits;
--   jobs_running_tenant_idx (database_id) WHERE state = 'running': tenant-only limits.
-- Building them reads app_jobs.jobs under its SHARE lock (enqueues and claims wait that long);
-- dropping them takes its ACCESS EXCLUSIVE lock for an instant. A transaction-level advisory
-- lock makes the callers take turns, so a set and a remove never race on the DDL. Without the
-- indexes (dropped by hand) the counts are still exact, only slower.

BEGIN;

CREATE FUNCTION app_jobs._limit_indexes()
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v_wanted boolean;
BEGIN
  PERFORM pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtextextended('pgjobs.job_limits.indexes', 0));
  v_wanted := EXISTS (SELECT 1 FROM app_jobs.job_limits);
  IF v_wanted AND pg_catalog.to_regclass('app_jobs.jobs_running_task_idx') IS NULL THEN
    CREATE INDEX jobs_running_task_idx ON app_jobs.jobs (task_identifier, database_id)
      WHERE state = 'running';
    COMMENT ON INDEX app_jobs.jobs_running_task_idx IS
      'Limits (made with the first limit, dropped with the last): running jobs by task and tenant, through which the claim counts a limit''s running jobs.';
  END IF;
  IF v_wanted AND pg_catalog.to_regclass('app_jobs.jobs_running_tenant_idx') IS NULL THEN
    CREATE INDEX jobs_running_tenant_idx ON app_jobs.jobs (database_id)
      WHERE state = 'running';
    COMMENT ON INDEX app_jobs.jobs_running_tenant_idx IS
      'Limits (made with the first limit, dropped with the last): running jobs by tenant, through which the claim counts a tenant limit''s running jobs.';
  END IF;
  IF NOT v_wanted THEN
    DROP INDEX IF EXISTS app_jobs.jobs_running_task_idx;
    DROP INDEX IF EXISTS app_jobs.jobs_running_tenant_idx;
  END IF;
END;
$$;

REVOKE ALL ON FUNCTION app_jobs._limit_indexes() FROM PUBLIC;

COMMENT ON FUNCTION app_jobs._limit_indexes() IS
  'Internal (set_job_limit, remove_job_limit): makes the running-jobs indexes the claim counts limits through when app_jobs.job_limits has rows, drops them when it has none; callers take turns (advisory lock).';

COMMIT;
