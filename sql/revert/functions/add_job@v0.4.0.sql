-- Revert pgjobs:functions/add_job from pg
-- Back to the 0.3.0 definition (deploy/functions/add_job@v0.3.0.sql).

BEGIN;

-- The grants of the function it replaces are given to the new signature (below).
SELECT pg_catalog.set_config('pgjobs.add_job_acl',
         coalesce((SELECT p.proacl::text FROM pg_catalog.pg_proc AS p
                    WHERE p.oid = 'app_jobs.add_job(uuid, text, json, text, text, timestamptz, integer, integer, text, jsonb, interval, text)'::pg_catalog.regprocedure), '{}'), true);

DROP FUNCTION app_jobs.add_job(uuid, text, json, text, text, timestamptz, integer, integer, text, jsonb, interval, text);

CREATE FUNCTION app_jobs.add_job(
  db_id uuid,
  identifier text,
  payload json DEFAULT '{}',
  job_key text DEFAULT NULL,
  queue_name text DEFAULT NULL,
  run_at timestamptz DEFAULT pg_catalog.now(),
  max_attempts integer DEFAULT 25,
  priority integer DEFAULT 0,
  correlation_id text DEFAULT NULL,
  backoff jsonb DEFAULT NULL)
RETURNS app_jobs.jobs
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v_tenant uuid := coalesce(db_id, '00000000-0000-0000-0000-000000000000'::uuid);
  v_payload jsonb := coalesce(payload::jsonb, '{}'::jsonb);
  v_run_at timestamptz := coalesce(run_at, pg_catalog.now());
  v_max_attempts integer := coalesce(max_attempts, 25);
  v_priority integer := coalesce(priority, 0);
  v_state text;
  v_job app_jobs.jobs;
BEGIN
  IF identifier IS NULL OR identifier = '' OR pg_catalog.length(identifier) > 255 THEN
    RAISE EXCEPTION USING
      ERRCODE = 'PJ101',
      MESSAGE = 'add_job: identifier (the task name) must be a non-empty text of at most 255 characters',
      DETAIL = pg_catalog.format('identifier = %s', coalesce(pg_catalog.quote_literal(pg_catalog.left(identifier, 300)), 'NULL')),
      HINT = 'Pass the name of the task that runs the job, e.g. identifier := ''send_email''.';
  END IF;
  IF v_max_attempts < 1 THEN
    RAISE EXCEPTION USING
      ERRCODE = 'PJ104',
      MESSAGE = pg_catalog.format('add_job: max_attempts must be at least 1, got %s', v_max_attempts),
      HINT = 'Pass how many attempts the job may take in all (1 = no retry), or leave it out for 25.';
  END IF;
  IF job_key = '' OR pg_catalog.length(job_key) > 512 THEN
    RAISE EXCEPTION USING
      ERRCODE = 'PJ106',
      MESSAGE = 'add_job: job_key must be NULL or a non-empty text of at most 512 characters',
      HINT = 'Leave job_key out for a job without a key.';
  END IF;
  IF queue_name = '' OR pg_catalog.length(queue_name) > 255 THEN
    RAISE EXCEPTION USING
      ERRCODE = 'PJ106',
      MESSAGE = 'add_job: queue_name must be NULL or a non-empty text of at most 255 characters',
      HINT = 'Leave queue_name out for a job that runs in parallel with others.';
  END IF;
  IF add_job.correlation_id = '' OR pg_catalog.length(add_job.correlation_id) > 255 THEN
    RAISE EXCEPTION USING
      ERRCODE = 'PJ106',
      MESSAGE = 'add_job: correlation_id must be NULL or a non-empty text of at most 255 characters',
      HINT = 'Pass an id shared by related jobs (e.g. a request id), or leave it out.';
  END IF;
  IF add_job.backoff IS NOT NULL THEN
    PERFORM app_jobs._check_backoff(add_job.backoff, 'add_job');
  END IF;

  v_state := CASE WHEN v_run_at > pg_catalog.now() THEN 'scheduled' ELSE 'ready' END;

  IF job_key IS NULL THEN
    INSERT INTO app_jobs.jobs AS j (database_id, task_identifier, payload, queue_name, run_at,
                                    max_attempts, priority, state, correlation_id, backoff)
    VALUES (v_tenant, identifier, v_payload, queue_name, v_run_at, v_max_attempts, v_priority,
            v_state, add_job.correlation_id, add_job.backoff)
    RETURNING j.* INTO v_job;
    RETURN v_job;
  END IF;

  -- Keyed: replace the waiting job in place, or take the key from a running one. Bounded
  -- retries cover a running keyed job finishing (and its key vanishing) between the steps.
  FOR i IN 1..5 LOOP
    INSERT INTO app_jobs.jobs AS j (database_id, task_identifier, payload, key, queue_name,
                                    run_at, max_attempts, priority, state, correlation_id,
                                    backoff)
    VALUES (v_tenant, identifier, v_payload, job_key, queue_name, v_run_at, v_max_attempts,
            v_priority, v_state, add_job.correlation_id, add_job.backoff)
    ON CONFLICT (database_id, key) WHERE key IS NOT NULL DO UPDATE
       SET task_identifier = excluded.task_identifier,
           payload = excluded.payload,
           queue_name = excluded.queue_name,
           run_at = excluded.run_at,
           max_attempts = excluded.max_attempts,
           priority = excluded.priority,
           state = excluded.state,
           correlation_id = excluded.correlation_id,
           backoff = excluded.backoff,
           attempts = 0,
           last_error = NULL,
           updated_at = pg_catalog.now()
     WHERE j.state <> 'running'
    RETURNING j.* INTO v_job;
    IF FOUND THEN
      RETURN v_job;
    END IF;
    -- The keyed job is running: let it finish undisturbed, but without a retry, and free
    -- the key for the new job.
    UPDATE app_jobs.jobs AS j
       SET key = NULL, superseded = true, max_attempts = greatest(j.attempts, 1),
           updated_at = pg_catalog.now()
     WHERE j.database_id = v_tenant AND j.key = job_key AND j.state = 'running';
  END LOOP;

  RAISE EXCEPTION USING
    ERRCODE = 'PJ401',
    MESSAGE = pg_catalog.format('add_job: could not enqueue under job_key %L: the key kept changing hands', job_key),
    HINT = 'Another transaction is replacing the same key at the same moment; retry the call.';
END;
$$;

REVOKE ALL ON FUNCTION app_jobs.add_job(uuid, text, json, text, text, timestamptz, integer, integer, text, jsonb) FROM PUBLIC;

DO $$
DECLARE
  v_grant record;
BEGIN
  FOR v_grant IN
    SELECT a.grantee, a.is_grantable, r.rolname
      FROM pg_catalog.aclexplode(pg_catalog.current_setting('pgjobs.add_job_acl')::pg_catalog.aclitem[]) AS a
      LEFT JOIN pg_catalog.pg_roles AS r ON r.oid = a.grantee
     WHERE a.privilege_type = 'EXECUTE'
       AND a.grantee <> (SELECT p.proowner FROM pg_catalog.pg_proc AS p WHERE p.oid = 'app_jobs.add_job(uuid, text, json, text, text, timestamptz, integer, integer, text, jsonb)'::pg_catalog.regprocedure)
  LOOP
    IF v_grant.grantee = 0 THEN
      EXECUTE 'GRANT EXECUTE ON FUNCTION app_jobs.add_job(uuid, text, json, text, text, timestamptz, integer, integer, text, jsonb) TO PUBLIC';
    ELSE
      EXECUTE pg_catalog.format('GRANT EXECUTE ON FUNCTION app_jobs.add_job(uuid, text, json, text, text, timestamptz, integer, integer, text, jsonb) TO %I%s', v_grant.rolname,
                                CASE WHEN v_grant.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END);
    END IF;
  END LOOP;
END
$$;

COMMENT ON FUNCTION app_jobs.add_job(uuid, text, json, text, text, timestamptz, integer, integer, text, jsonb) IS
  'Enqueues a job and returns its row. db_id: tenant (NULL = the default tenant, the nil uuid); identifier: task name; payload: JSON arguments; job_key: optional key, unique per tenant (an existing waiting job with the key is replaced in place, with attempts and last_error reset; a running one finishes undisturbed without retry and a new job takes the key); queue_name: optional serial queue of the tenant; run_at: not before (default now); max_attempts (default 25); priority: lower runs first (default 0); correlation_id: optional id tying related jobs together (list_jobs filters on it); backoff: optional retry delay options of this job ({"strategy": "exponential"|"linear"|"fixed"|"none", "base": seconds, "cap": seconds, "jitter": 0-1}), else fail_job''s, else exp(min(attempts, 10)) seconds. Sends NOTIFY "jobs:insert" unless run_at is in the future.';

COMMIT;
