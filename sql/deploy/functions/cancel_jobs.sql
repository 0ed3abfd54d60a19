-- Deploy pgjobs:functions/cancel_jobs to pg
-- requires: functions/cancel_jobs@v0.3.0
-- Cancels every upcoming (waiting) job that matches all the filters given; running jobs are
-- left alone (cancel them one by one with cancel_job). Filters: task, priority and run_at
-- (exact), queue, tenant.
-- 0.4.0 (breaking): the tenant scope is explicit. db_id cancels that tenant's jobs only;
-- every tenant's takes all_tenants := true; neither (the old cancel_jobs() that cancelled
-- every tenant's waiting jobs) or both raise PJ122 and cancel nothing. The old signature is
-- dropped (never an overload) and its EXECUTE grants move to the new one.

BEGIN;

-- The grants of the function it replaces are given to the new signature (below).
SELECT pg_catalog.set_config('pgjobs.cancel_jobs_acl',
         coalesce((SELECT p.proacl::text FROM pg_catalog.pg_proc AS p
                    WHERE p.oid = 'app_jobs.cancel_jobs(text, integer, timestamptz, text, uuid)'::pg_catalog.regprocedure), '{}'), true);

DROP FUNCTION app_jobs.cancel_jobs(text, integer, timestamptz, text, uuid);

CREATE FUNCTION app_jobs.cancel_jobs(
  task text DEFAULT NULL,
  priority integer DEFAULT NULL,
  run_at timestamptz DEFAULT NULL,
  queue text DEFAULT NULL,
  db_id uuid DEFAULT NULL,
  all_tenants boolean DEFAULT false)
RETURNS integer
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET plan_cache_mode = force_custom_plan
AS $$
DECLARE
  v_job app_jobs.jobs;
  v_count integer := 0;
BEGIN
  IF (cancel_jobs.db_id IS NULL) = coalesce(NOT cancel_jobs.all_tenants, true) THEN
    RAISE EXCEPTION USING
      ERRCODE = 'PJ122',
      MESSAGE = CASE WHEN cancel_jobs.db_id IS NULL
                     THEN 'cancel_jobs: name the tenant (db_id) whose jobs to cancel, or pass all_tenants := true'
                     ELSE 'cancel_jobs: pass db_id or all_tenants := true, not both' END,
      DETAIL = 'A bulk admin call acts on every tenant only when asked to explicitly.',
      HINT = 'cancel_jobs(task := ''send_email'', db_id := ''<tenant uuid>''), or all_tenants := true to cancel the matching waiting jobs of every tenant.';
  END IF;
  IF cancel_jobs.task = '' THEN
    RAISE EXCEPTION USING
      ERRCODE = 'PJ101',
      MESSAGE = 'cancel_jobs: task must be NULL (any task) or a task name',
      HINT = 'Leave task out to cancel the waiting jobs of every task.';
  END IF;
  IF cancel_jobs.queue = '' THEN
    RAISE EXCEPTION USING
      ERRCODE = 'PJ106',
      MESSAGE = 'cancel_jobs: queue must be NULL (any queue) or a queue name',
      HINT = 'Leave queue out to cancel the waiting jobs of every queue.';
  END IF;
  FOR v_job IN
    DELETE FROM app_jobs.jobs AS j
     WHERE j.state <> 'running'
       AND (cancel_jobs.task IS NULL OR j.task_identifier = cancel_jobs.task)
       AND (cancel_jobs.priority IS NULL OR j.priority = cancel_jobs.priority)
       AND (cancel_jobs.run_at IS NULL OR j.run_at = cancel_jobs.run_at)
       AND (cancel_jobs.queue IS NULL OR j.queue_name = cancel_jobs.queue)
       AND (cancel_jobs.db_id IS NULL OR j.database_id = cancel_jobs.db_id)
    RETURNING j.*
  LOOP
    PERFORM app_jobs._archive_job(v_job, 'cancelled');
    v_count := v_count + 1;
  END LOOP;
  RETURN v_count;
END;
$$;

REVOKE ALL ON FUNCTION app_jobs.cancel_jobs(text, integer, timestamptz, text, uuid, boolean) FROM PUBLIC;

DO $$
DECLARE
  v_grant record;
BEGIN
  FOR v_grant IN
    SELECT a.grantee, a.is_grantable, r.rolname
      FROM pg_catalog.aclexplode(pg_catalog.current_setting('pgjobs.cancel_jobs_acl')::pg_catalog.aclitem[]) AS a
      LEFT JOIN pg_catalog.pg_roles AS r ON r.oid = a.grantee
     WHERE a.privilege_type = 'EXECUTE'
       AND a.grantee <> (SELECT p.proowner FROM pg_catalog.pg_proc AS p WHERE p.oid = 'app_jobs.cancel_jobs(text, integer, timestamptz, text, uuid, boolean)'::pg_catalog.regprocedure)
  LOOP
    IF v_grant.grantee = 0 THEN
      EXECUTE 'GRANT EXECUTE ON FUNCTION app_jobs.cancel_jobs(text, integer, timestamptz, text, uuid, boolean) TO PUBLIC';
    ELSE
      EXECUTE pg_catalog.format('GRANT EXECUTE ON FUNCTION app_jobs.cancel_jobs(text, integer, timestamptz, text, uuid, boolean) TO %I%s', v_grant.rolname,
                                CASE WHEN v_grant.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END);
    END IF;
  END LOOP;
END
$$;


COMMENT ON FUNCTION app_jobs.cancel_jobs(text, integer, timestamptz, text, uuid, boolean) IS
  'Cancels every waiting job matching all given filters (NULL = any): task, priority (equal), run_at (equal), queue; and the tenant scope, required: db_id (that tenant) or all_tenants := true (every tenant), else PJ122. They move to app_jobs.job_history as cancelled; running jobs are not touched (see cancel_job). Returns how many were cancelled.';

COMMIT;
