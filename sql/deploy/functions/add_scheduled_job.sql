-- Deploy pgjobs:functions/add_scheduled_job to pg
-- requires: functions/add_scheduled_job@v0.3.0
-- requires: functions/_check_payload
-- Creates a recurring job definition, or replaces the tenant's definition with the same
-- key (so an application can declare its schedules at every start). The schedule is
-- schedule_info, or cron text given as `cron` (stored as {"cron": ...}); `tz` sets its time
-- zone. The scheduled_jobs_spec trigger parses and checks it (PJ111-PJ114) and keeps
-- next_run_at: re-declaring an unchanged schedule leaves its next fire time alone, and never
-- touches `enabled` (an operator's disable sticks).
-- 0.4.0: the payload is checked by app_jobs._check_payload before it is cast to jsonb
-- (PJ120/PJ121 naming add_scheduled_job; a \u0000 used to fail with 22P05).
-- 0.4.0: it takes what add_job takes: correlation_id, backoff and timeout of the jobs it enqueues
-- (appended last); max_attempts and priority left out are stored as NULL, so the task's
-- settings (app_jobs.task_settings) apply to the schedule's jobs, then 25 and 0. A new
-- signature: the 0.3.0 one is dropped (no overloads) and its EXECUTE grants move to this one.
-- (tables/scheduled_jobs' 0.4.0 columns come later in the plan; PL/pgSQL resolves them when
-- the function runs.)

BEGIN;

-- The grants of the function it replaces are given to the new signature (below).
SELECT pg_catalog.set_config('pgjobs.add_scheduled_job_acl',
         coalesce((SELECT p.proacl::text FROM pg_catalog.pg_proc AS p
                    WHERE p.oid = 'app_jobs.add_scheduled_job(uuid, text, json, json, text, text, integer, integer, text, text, text, integer, interval)'::pg_catalog.regprocedure), '{}'), true);

DROP FUNCTION app_jobs.add_scheduled_job(uuid, text, json, json, text, text, integer, integer, text, text, text, integer, interval);

CREATE FUNCTION app_jobs.add_scheduled_job(
  db_id uuid,
  identifier text,
  payload json DEFAULT '{}',
  schedule_info json DEFAULT NULL,
  job_key text DEFAULT NULL,
  queue_name text DEFAULT NULL,
  max_attempts integer DEFAULT NULL,
  priority integer DEFAULT NULL,
  cron text DEFAULT NULL,
  tz text DEFAULT NULL,
  missed_runs text DEFAULT NULL,
  backfill_limit integer DEFAULT NULL,
  backfill_window interval DEFAULT NULL,
  correlation_id text DEFAULT NULL,
  backoff jsonb DEFAULT NULL,
  timeout interval DEFAULT NULL)
RETURNS app_jobs.scheduled_jobs
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v_tenant uuid := coalesce(db_id, '00000000-0000-0000-0000-000000000000'::uuid);
  v_schedule jsonb;
  v_row app_jobs.scheduled_jobs;
BEGIN
  IF identifier IS NULL OR identifier = '' OR pg_catalog.length(identifier) > 255 THEN
    RAISE EXCEPTION USING
      ERRCODE = 'PJ101',
      MESSAGE = 'add_scheduled_job: identifier (the task name) must be a non-empty text of at most 255 characters',
      HINT = 'Pass the name of the task the schedule runs, e.g. identifier := ''cleanup_task''.';
  END IF;
  PERFORM app_jobs._check_payload(add_scheduled_job.payload, 'add_scheduled_job: payload');
  PERFORM app_jobs._check_payload(add_scheduled_job.schedule_info, 'add_scheduled_job: schedule_info');
  v_schedule := add_scheduled_job.schedule_info::jsonb;
  IF (v_schedule IS NULL) = (cron IS NULL) THEN
    RAISE EXCEPTION USING
      ERRCODE = 'PJ107',
      MESSAGE = 'add_scheduled_job: pass exactly one of schedule_info and cron',
      DETAIL = pg_catalog.format('schedule_info = %s, cron = %s', coalesce(v_schedule::text, 'NULL'),
                                 coalesce(pg_catalog.quote_literal(cron), 'NULL')),
      HINT = 'Pass e.g. schedule_info := ''{"hour": [2], "minute": [0]}'', or cron := ''0 2 * * *''.';
  END IF;
  IF cron IS NOT NULL THEN
    v_schedule := pg_catalog.jsonb_build_object('cron', cron);
  END IF;
  IF pg_catalog.jsonb_typeof(v_schedule) <> 'object' THEN
    RAISE EXCEPTION USING
      ERRCODE = 'PJ107',
      MESSAGE = 'add_scheduled_job: schedule_info must be a JSON object',
      DETAIL = pg_catalog.format('schedule_info = %s', v_schedule),
      HINT = 'Pass e.g. schedule_info := ''{"hour": [2], "minute": [0]}''.';
  END IF;
  IF tz IS NOT NULL THEN
    v_schedule := v_schedule || pg_catalog.jsonb_build_object('tz', tz);
  END IF;
  IF max_attempts < 1 THEN
    RAISE EXCEPTION USING
      ERRCODE = 'PJ104',
      MESSAGE = pg_catalog.format('add_scheduled_job: max_attempts must be at least 1, got %s', max_attempts),
      HINT = 'Pass how many attempts each job may take, or leave it out for the task''s setting (else 25).';
  END IF;
  IF job_key = '' OR pg_catalog.length(job_key) > 512 THEN
    RAISE EXCEPTION USING
      ERRCODE = 'PJ106',
      MESSAGE = 'add_scheduled_job: job_key must be NULL or a non-empty text of at most 512 characters',
      HINT = 'Leave job_key out for a definition without a key.';
  END IF;
  IF queue_name = '' OR pg_catalog.length(queue_name) > 255 THEN
    RAISE EXCEPTION USING
      ERRCODE = 'PJ106',
      MESSAGE = 'add_scheduled_job: queue_name must be NULL or a non-empty text of at most 255 characters',
      HINT = 'Leave queue_name out when the jobs need no serial queue.';
  END IF;

  IF correlation_id = '' OR pg_catalog.length(correlation_id) > 255 THEN
    RAISE EXCEPTION USING
      ERRCODE = 'PJ106',
      MESSAGE = 'add_scheduled_job: correlation_id must be NULL or a non-empty text of at most 255 characters',
      HINT = 'Pass an id shared by the schedule''s jobs, or leave it out.';
  END IF;
  PERFORM app_jobs._check_backoff(add_scheduled_job.backoff, 'add_scheduled_job');
  IF add_scheduled_job.timeout <= interval '0' OR add_scheduled_job.timeout > interval '7 days' THEN
    RAISE EXCEPTION USING
      ERRCODE = 'PJ406',
      MESSAGE = pg_catalog.format('add_scheduled_job: timeout must be more than 0 and at most 7 days, got %s', add_scheduled_job.timeout),
      HINT = 'Pass an interval such as interval ''5 minutes'', or NULL for the task''s setting (else no limit).';
  END IF;

  INSERT INTO app_jobs.scheduled_jobs AS s (database_id, task_identifier, payload, schedule_info,
                                            key, queue_name, max_attempts, priority, missed_runs,
                                            backfill_limit, backfill_window, correlation_id,
                                            backoff, timeout)
  VALUES (v_tenant, identifier, coalesce(payload::jsonb, '{}'::jsonb), v_schedule, job_key,
          queue_name, max_attempts, priority,
          coalesce(missed_runs, CASE WHEN backfill_limit IS NOT NULL OR backfill_window IS NOT NULL
                                     THEN 'backfill' ELSE 'run_once' END),
          backfill_limit, backfill_window, add_scheduled_job.correlation_id,
          add_scheduled_job.backoff, add_scheduled_job.timeout)
  ON CONFLICT (database_id, key) WHERE key IS NOT NULL DO UPDATE
     SET task_identifier = excluded.task_identifier,
         payload = excluded.payload,
         schedule_info = excluded.schedule_info,
         queue_name = excluded.queue_name,
         max_attempts = excluded.max_attempts,
         priority = excluded.priority,
         missed_runs = excluded.missed_runs,
         backfill_limit = excluded.backfill_limit,
         backfill_window = excluded.backfill_window,
         correlation_id = excluded.correlation_id,
         backoff = excluded.backoff,
         timeout = excluded.timeout,
         updated_at = pg_catalog.now()
  RETURNING s.* INTO v_row;
  RETURN v_row;
END;
$$;

REVOKE ALL ON FUNCTION app_jobs.add_scheduled_job(uuid, text, json, json, text, text, integer, integer, text, text, text, integer, interval, text, jsonb, interval) FROM PUBLIC;

DO $$
DECLARE
  v_grant record;
BEGIN
  FOR v_grant IN
    SELECT a.grantee, a.is_grantable, r.rolname
      FROM pg_catalog.aclexplode(pg_catalog.current_setting('pgjobs.add_scheduled_job_acl')::pg_catalog.aclitem[]) AS a
      LEFT JOIN pg_catalog.pg_roles AS r ON r.oid = a.grantee
     WHERE a.privilege_type = 'EXECUTE'
       AND a.grantee <> (SELECT p.proowner FROM pg_catalog.pg_proc AS p WHERE p.oid = 'app_jobs.add_scheduled_job(uuid, text, json, json, text, text, integer, integer, text, text, text, integer, interval, text, jsonb, interval)'::pg_catalog.regprocedure)
  LOOP
    EXECUTE pg_catalog.format('GRANT EXECUTE ON FUNCTION app_jobs.add_scheduled_job(uuid, text, json, json, text, text, integer, integer, text, text, text, integer, interval, text, jsonb, interval) TO %s%s',
                              CASE WHEN v_grant.grantee = 0 THEN 'PUBLIC' ELSE pg_catalog.quote_ident(v_grant.rolname) END,
                              CASE WHEN v_grant.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END);
  END LOOP;
END
$$;

COMMENT ON FUNCTION app_jobs.add_scheduled_job(uuid, text, json, json, text, text, integer, integer, text, text, text, integer, interval, text, jsonb, interval) IS
  'Creates a recurring job definition for tenant db_id and returns it: identifier (task), payload, schedule_info (a JSON object: rule object or {"cron": ...}, optional tz, start, end) or cron (cron text), tz (IANA zone), job_key (optional, unique per tenant: an existing definition with the key is replaced, keeping its enabled flag and, when the schedule is unchanged, its next fire time), queue_name, max_attempts, priority, correlation_id, backoff, timeout of the jobs it enqueues (max_attempts, priority, queue_name, backoff and timeout left out: the task''s settings, else 25 and 0); missed_runs (skip, run_once (default), backfill), backfill_limit, backfill_window. Bad schedules raise PJ107, PJ111-PJ114; a payload jsonb cannot store or over the limits PJ120 or PJ121.';

COMMIT;
