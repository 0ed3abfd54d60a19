-- Deploy pgjobs:functions/list_workers to pg
-- requires: tables/workers
-- requires: tables/jobs
-- The workers that hold or held a lease (app_jobs.heartbeat), for the dashboard and metrics:
-- a small table, one row per worker id.

BEGIN;

CREATE FUNCTION app_jobs.list_workers()
RETURNS TABLE (
  worker_id text,
  alive boolean,
  first_seen_at timestamptz,
  last_heartbeat_at timestamptz,
  lease_expires_at timestamptz,
  running_jobs bigint)
LANGUAGE sql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
  SELECT w.worker_id, w.lease_expires_at > pg_catalog.now(), w.first_seen_at,
         w.last_heartbeat_at, w.lease_expires_at,
         (SELECT count(*) FROM app_jobs.jobs AS j
           WHERE j.state = 'running' AND j.locked_by = w.worker_id)
    FROM app_jobs.workers AS w
   ORDER BY w.lease_expires_at > pg_catalog.now() DESC, w.last_heartbeat_at DESC, w.worker_id;
$$;

REVOKE ALL ON FUNCTION app_jobs.list_workers() FROM PUBLIC;

COMMENT ON FUNCTION app_jobs.list_workers() IS
  'Every worker with a lease row (workers that call app_jobs.heartbeat): alive (its lease has not lapsed), first_seen_at, last_heartbeat_at, lease_expires_at and running_jobs (the jobs it holds now). Live workers first, then by latest heartbeat.';

COMMIT;
