-- Revert pgjobs:functions/heartbeat from pg
-- Back to the 0.3.0 definition (deploy/functions/heartbeat@v0.3.0.sql).

BEGIN;

SELECT pg_catalog.set_config('pgjobs.heartbeat_acl',
         coalesce((SELECT p.proacl::text FROM pg_catalog.pg_proc AS p
                    WHERE p.oid = 'app_jobs.heartbeat(text, interval, uuid)'::pg_catalog.regprocedure), '{}'), true);

DROP FUNCTION app_jobs.heartbeat(text, interval, uuid);

CREATE FUNCTION app_jobs.heartbeat(worker_id text, lease interval DEFAULT interval '30 seconds')
RETURNS bigint[]
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  IF worker_id IS NULL OR worker_id = '' THEN
    RAISE EXCEPTION USING
      ERRCODE = 'PJ102',
      MESSAGE = 'heartbeat: worker_id must be a non-empty text',
      HINT = 'Pass the worker_id this worker gives get_job.';
  END IF;
  IF lease IS NULL OR lease <= interval '0' OR lease > interval '100 years' THEN
    RAISE EXCEPTION USING
      ERRCODE = 'PJ105',
      MESSAGE = pg_catalog.format('heartbeat: lease must be a positive interval of at most 100 years, got %s', coalesce(lease::text, 'NULL')),
      HINT = 'Pass how long the lease lasts without another heartbeat, e.g. interval ''30 seconds''.';
  END IF;
  INSERT INTO app_jobs.workers AS w (worker_id, lease_expires_at)
  VALUES (heartbeat.worker_id, pg_catalog.clock_timestamp() + lease)
  ON CONFLICT ON CONSTRAINT workers_pkey DO UPDATE
     SET lease_expires_at = excluded.lease_expires_at,
         last_heartbeat_at = pg_catalog.clock_timestamp();
  RETURN ARRAY(
    SELECT j.id FROM app_jobs.jobs AS j
     WHERE j.state = 'running' AND j.locked_by = heartbeat.worker_id
       AND j.cancel_requested_at IS NULL
     ORDER BY j.id);
END;
$$;

REVOKE ALL ON FUNCTION app_jobs.heartbeat(text, interval) FROM PUBLIC;

DO $$
DECLARE
  v_grant record;
BEGIN
  FOR v_grant IN
    SELECT a.grantee, a.is_grantable, r.rolname
      FROM pg_catalog.aclexplode(pg_catalog.current_setting('pgjobs.heartbeat_acl')::pg_catalog.aclitem[]) AS a
      LEFT JOIN pg_catalog.pg_roles AS r ON r.oid = a.grantee
     WHERE a.privilege_type = 'EXECUTE'
       AND a.grantee <> (SELECT p.proowner FROM pg_catalog.pg_proc AS p WHERE p.oid = 'app_jobs.heartbeat(text, interval)'::pg_catalog.regprocedure)
  LOOP
    IF v_grant.grantee = 0 THEN
      EXECUTE 'GRANT EXECUTE ON FUNCTION app_jobs.heartbeat(text, interval) TO PUBLIC';
    ELSE
      EXECUTE pg_catalog.format('GRANT EXECUTE ON FUNCTION app_jobs.heartbeat(text, interval) TO %I%s', v_grant.rolname,
                                CASE WHEN v_grant.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END);
    END IF;
  END LOOP;
END
$$;

COMMENT ON FUNCTION app_jobs.heartbeat(text, interval) IS
  'Registers or renews the lease of worker_id until now + lease (default 30 s) and returns the ids of the jobs it still holds and should go on running (a job whose cancellation was requested with cancel_job is left out: stop its handler and report it with fail_job). While the lease is live its jobs are never reclaimed, whatever their lock age; once it lapses they are reclaimable at once.';

COMMIT;
