-- Deploy pgjobs:functions/grant_roles to pg
-- requires: schema
-- The three roles of pgjobs (producer, worker, admin): created when missing (NOLOGIN group
-- roles), and given exactly their set of app_jobs functions. pgjobs deploy --roles calls it;
-- sqitch and CREATE EXTENSION users call it themselves after installing.

BEGIN;

CREATE FUNCTION app_jobs.grant_roles(
  producer text DEFAULT 'app_jobs_producer',
  worker text DEFAULT 'app_jobs_worker',
  admin text DEFAULT 'app_jobs_admin'
)
RETURNS TABLE (role_name text, kind text, created boolean, functions integer)
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  -- The functions each kind of role may execute, by name (app_jobs has no overloads).
  -- producer: enqueue, read and cancel jobs (and the enqueue trigger functions);
  -- worker: exactly what `pgjobs worker` calls (claim, finish, lease, schedules, retention);
  -- admin: every public function but this one.
  producer_set constant text[] := ARRAY[
    'schema_version', 'add_job', 'add_jobs', 'find_job', 'watch_job', 'list_jobs',
    'cancel_job', 'remove_job', 'declare_task_settings', 'validate_payload',
    'tg_add_job_with_row_id', 'tg_add_job_with_row', 'tg_add_job_with_fields'];
  worker_set constant text[] := ARRAY[
    'schema_version', 'get_job', 'get_jobs', 'claim_job', 'complete_job', 'fail_job',
    'finish_jobs', 'start_jobs', 'settle_jobs', 'heartbeat', 'unregister_worker',
    'release_jobs', 'set_progress', 'declare_worker_tasks', 'declare_task_settings',
    'add_scheduled_job', 'run_due_schedules', 'create_history_partitions', 'cleanup_jobs',
    'validate_payload'];
  spec record;
  fn record;
  is_new boolean;
  n integer;
BEGIN
  FOR spec IN
    SELECT v.kind, v.name, v.ord
      FROM (VALUES ('producer', grant_roles.producer, 1), ('worker', grant_roles.worker, 2),
                   ('admin', grant_roles.admin, 3)) AS v(kind, name, ord)
     ORDER BY v.ord
  LOOP
    IF spec.name IS NULL OR spec.name = '' OR octet_length(spec.name) > 63
       OR spec.name ~* '^pg_' OR lower(spec.name) = 'public'
       OR spec.name = (SELECT n.nspowner::regrole::text FROM pg_namespace AS n
                        WHERE n.nspname = 'app_jobs') THEN
      RAISE EXCEPTION USING
        ERRCODE = 'PJ165',
        MESSAGE = format('grant_roles: %s role name %s is not a name pgjobs can grant to',
                         spec.kind, coalesce(quote_literal(spec.name), 'NULL')),
        DETAIL = 'A role name is 1 to 63 bytes, does not start with pg_, is not public and is not the owner of schema app_jobs (whose rights the call would take back).',
        HINT = 'Leave the argument out for the default name (app_jobs_producer, app_jobs_worker, app_jobs_admin).';
    END IF;
  END LOOP;
  IF producer = worker OR producer = admin OR worker = admin THEN
    RAISE EXCEPTION USING
      ERRCODE = 'PJ166',
      MESSAGE = 'grant_roles: the producer, worker and admin roles must be three different roles',
      DETAIL = format('producer %L, worker %L, admin %L.', producer, worker, admin),
      HINT = 'A login that needs two of them is made a member of both: GRANT app_jobs_worker TO that_login.';
  END IF;

  FOR spec IN
    SELECT v.kind, v.name, v.ord
      FROM (VALUES ('producer', grant_roles.producer, 1), ('worker', grant_roles.worker, 2),
                   ('admin', grant_roles.admin, 3)) AS v(kind, name, ord)
     ORDER BY v.ord
  LOOP
    is_new := NOT EXISTS (SELECT FROM pg_roles AS r WHERE r.rolname = spec.name);
    IF is_new THEN
      EXECUTE format('CREATE ROLE %I NOLOGIN', spec.name);
    END IF;
    EXECUTE format('GRANT USAGE ON SCHEMA app_jobs TO %I', spec.name);
    -- Exactly its set: what an earlier release (or a hand) granted beyond it is taken back.
    EXECUTE format('REVOKE ALL ON ALL FUNCTIONS IN SCHEMA app_jobs FROM %I', spec.name);
    EXECUTE format('REVOKE ALL ON ALL TABLES IN SCHEMA app_jobs FROM %I', spec.name);
    n := 0;
    FOR fn IN
      SELECT p.oid::regprocedure AS signature
        FROM pg_proc AS p
       WHERE p.pronamespace = 'app_jobs'::regnamespace
         AND CASE spec.kind
               WHEN 'producer' THEN p.proname = ANY (producer_set)
               WHEN 'worker' THEN p.proname = ANY (worker_set)
               ELSE p.proname !~ '^_' AND p.proname <> 'grant_roles'
             END
       ORDER BY p.proname
    LOOP
      EXECUTE format('GRANT EXECUTE ON FUNCTION %s TO %I', fn.signature, spec.name);
      n := n + 1;
    END LOOP;
    role_name := spec.name;
    kind := spec.kind;
    created := is_new;
    functions := n;
    RETURN NEXT;
  END LOOP;
END;
$$;

REVOKE ALL ON FUNCTION app_jobs.grant_roles(text, text, text) FROM PUBLIC;

COMMENT ON FUNCTION app_jobs.grant_roles(text, text, text) IS
  'Creates the producer, worker and admin roles when missing (NOLOGIN group roles) and sets each one''s privileges on app_jobs to exactly its set: producer enqueues, reads and cancels jobs; worker runs everything pgjobs worker calls; admin executes every public function but this one. Run again after an upgrade. One row per role: name, kind, whether it was created, how many functions it may execute.';

COMMIT;
