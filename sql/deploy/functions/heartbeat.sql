-- Deploy pgjobs:functions/heartbeat to pg
-- requires: functions/heartbeat@v0.3.0
-- requires: tables/workers
-- 0.4.0: a worker_id over 200 characters is refused (PJ102) as get_job refuses it, instead of
-- failing with an internal error when the workers row cannot hold it.
-- 0.4.0: the lease belongs to one process. A worker passes its instance token (a random uuid
-- drawn at start); while the lease of worker_id is live and held by another token, the call
-- is refused (PJ307) and changes nothing: a second live process with the same worker_id stops
-- instead of running the first one's jobs, and a process restarted after a crash waits at
-- most one lease for the dead one's lease to lapse, then takes it over. Without a token (raw
-- SQL callers, older workers) the lease is renewed as before. The old signature is dropped
-- (never an overload) and its EXECUTE grants move to the new one.
-- A worker calls this every few seconds. One row per worker (not an update per job), and
-- the answer lists the jobs the worker still holds: a job missing from it was reclaimed
-- (the lease lapsed), so the worker cancels that handler, whose late complete_job or
-- fail_job would be refused anyway. A job whose cancellation was requested (cancel_job) is
-- left out too: the worker cancels its handler and reports the attempt with fail_job, which
-- records the job cancelled. (A NOTIFY "jobs:cancel" only wakes workers up to call this: what
-- to cancel is read here, so a notification from anyone else cancels nothing.)

BEGIN;

-- The grants of the function it replaces are given to the new signature (below).
SELECT pg_catalog.set_config('pgjobs.heartbeat_acl',
         coalesce((SELECT p.proacl::text FROM pg_catalog.pg_proc AS p
                    WHERE p.oid = 'app_jobs.heartbeat(text, interval)'::pg_catalog.regprocedure), '{}'), true);

DROP FUNCTION app_jobs.heartbeat(text, interval);

CREATE FUNCTION app_jobs.heartbeat(
  worker_id text,
  lease interval DEFAULT interval '30 seconds',
  instance uuid DEFAULT NULL)
RETURNS bigint[]
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v_holder app_jobs.workers;
BEGIN
  IF worker_id IS NULL OR worker_id = '' OR pg_catalog.length(worker_id) > 200 THEN
    RAISE EXCEPTION USING
      ERRCODE = 'PJ102',
      MESSAGE = 'heartbeat: worker_id must be a non-empty text of at most 200 characters',
      HINT = 'Pass the worker_id this worker gives get_job.';
  END IF;
  IF lease IS NULL OR lease <= interval '0' OR lease > interval '100 years' THEN
    RAISE EXCEPTION USING
      ERRCODE = 'PJ105',
      MESSAGE = pg_catalog.format('heartbeat: lease must be a positive interval of at most 100 years, got %s', coalesce(lease::text, 'NULL')),
      HINT = 'Pass how long the lease lasts without another heartbeat, e.g. interval ''30 seconds''.';
  END IF;
  INSERT INTO app_jobs.workers AS w (worker_id, lease_expires_at, instance)
  VALUES (heartbeat.worker_id, pg_catalog.clock_timestamp() + lease, heartbeat.instance)
  ON CONFLICT ON CONSTRAINT workers_pkey DO UPDATE
     SET lease_expires_at = excluded.lease_expires_at,
         last_heartbeat_at = pg_catalog.clock_timestamp(),
         instance = coalesce(excluded.instance, w.instance)
   WHERE excluded.instance IS NULL OR w.instance IS NULL OR w.instance = excluded.instance
      OR w.lease_expires_at < pg_catalog.clock_timestamp()
  RETURNING w.* INTO v_holder;
  IF NOT FOUND THEN
    SELECT w.* INTO v_holder FROM app_jobs.workers AS w WHERE w.worker_id = heartbeat.worker_id;
    RAISE EXCEPTION USING
      ERRCODE = 'PJ307',
      MESSAGE = pg_catalog.format('heartbeat: worker_id %s is held by another live process until %s',
                                  heartbeat.worker_id, v_holder.lease_expires_at),
      DETAIL = pg_catalog.format('Its instance is %s; its last heartbeat was at %s.',
                                 v_holder.instance, v_holder.last_heartbeat_at),
      HINT = 'Give each worker process its own worker_id. After a crash, the old lease lapses at most one lease after its last heartbeat; then the id is free again.';
  END IF;
  RETURN ARRAY(
    SELECT j.id FROM app_jobs.jobs AS j
     WHERE j.state = 'running' AND j.locked_by = heartbeat.worker_id
       AND j.cancel_requested_at IS NULL
     ORDER BY j.id);
END;
$$;

REVOKE ALL ON FUNCTION app_jobs.heartbeat(text, interval, uuid) FROM PUBLIC;

DO $$
DECLARE
  v_grant record;
BEGIN
  FOR v_grant IN
    SELECT a.grantee, a.is_grantable, r.rolname
      FROM pg_catalog.aclexplode(pg_catalog.current_setting('pgjobs.heartbeat_acl')::pg_catalog.aclitem[]) AS a
      LEFT JOIN pg_catalog.pg_roles AS r ON r.oid = a.grantee
     WHERE a.privilege_type = 'EXECUTE'
       AND a.grantee <> (SELECT p.proowner FROM pg_catalog.pg_proc AS p WHERE p.oid = 'app_jobs.heartbeat(text, interval, uuid)'::pg_catalog.regprocedure)
  LOOP
    IF v_grant.grantee = 0 THEN
      EXECUTE 'GRANT EXECUTE ON FUNCTION app_jobs.heartbeat(text, interval, uuid) TO PUBLIC';
    ELSE
      EXECUTE pg_catalog.format('GRANT EXECUTE ON FUNCTION app_jobs.heartbeat(text, interval, uuid) TO %I%s', v_grant.rolname,
                                CASE WHEN v_grant.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END);
    END IF;
  END LOOP;
END
$$;

COMMENT ON FUNCTION app_jobs.heartbeat(text, interval, uuid) IS
  'Registers or renews the lease of worker_id until now + lease (default 30 s) and returns the ids of the jobs it still holds and should go on running (a job whose cancellation was requested with cancel_job is left out: stop its handler and report it with fail_job). While the lease is live its jobs are never reclaimed, whatever their lock age; once it lapses they are reclaimable at once. instance (a token drawn once per worker process) makes the lease that process''s: while it is live, a heartbeat with another token for the same worker_id is refused (PJ307); once it lapsed, the new token takes it over. Without a token the lease is renewed whoever holds it.';

COMMIT;
