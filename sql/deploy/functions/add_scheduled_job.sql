-- Deploy pgjobs:functions/add_scheduled_job to pg
-- requires: tables/scheduled_jobs
-- Creates a recurring job definition, or replaces the tenant's definition with the same
-- key (so an application can declare its schedules at every start).

BEGIN;

CREATE FUNCTION app_jobs.add_scheduled_job(
  db_id uuid,
  identifier text,
  payload json DEFAULT '{}',
  schedule_info json DEFAULT NULL,
  job_key text DEFAULT NULL,
  queue_name text DEFAULT NULL,
  max_attempts integer DEFAULT 25,
  priority integer DEFAULT 0)
RETURNS app_jobs.scheduled_jobs
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v_tenant uuid := coalesce(db_id, '00000000-0000-0000-0000-000000000000'::uuid);
  v_schedule jsonb := schedule_info::jsonb;
  v_row app_jobs.scheduled_jobs;
BEGIN
  IF identifier IS NULL OR identifier = '' OR pg_catalog.length(identifier) > 255 THEN
    RAISE EXCEPTION USING
      ERRCODE = 'PJ101',
      MESSAGE = 'add_scheduled_job: identifier (the task name) must be a non-empty text of at most 255 characters',
      HINT = 'Pass the name of the task the schedule runs, e.g. identifier := ''cleanup_task''.';
  END IF;
  IF v_schedule IS NULL OR pg_catalog.jsonb_typeof(v_schedule) <> 'object' THEN
    RAISE EXCEPTION USING
      ERRCODE = 'PJ107',
      MESSAGE = 'add_scheduled_job: schedule_info must be a JSON object',
      DETAIL = pg_catalog.format('schedule_info = %s', coalesce(v_schedule::text, 'NULL')),
      HINT = 'Pass e.g. schedule_info := ''{"hour": [2], "minute": [0]}''.';
  END IF;
  IF coalesce(max_attempts, 25) < 1 THEN
    RAISE EXCEPTION USING
      ERRCODE = 'PJ104',
      MESSAGE = pg_catalog.format('add_scheduled_job: max_attempts must be at least 1, got %s', max_attempts),
      HINT = 'Pass how many attempts each job may take, or leave it out for 25.';
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

  INSERT INTO app_jobs.scheduled_jobs AS s (database_id, task_identifier, payload, schedule_info,
                                            key, queue_name, max_attempts, priority)
  VALUES (v_tenant, identifier, coalesce(payload::jsonb, '{}'::jsonb), v_schedule, job_key,
          queue_name, coalesce(max_attempts, 25), coalesce(priority, 0))
  ON CONFLICT (database_id, key) WHERE key IS NOT NULL DO UPDATE
     SET task_identifier = excluded.task_identifier,
         payload = excluded.payload,
         schedule_info = excluded.schedule_info,
         queue_name = excluded.queue_name,
         max_attempts = excluded.max_attempts,
         priority = excluded.priority,
         updated_at = pg_catalog.now()
  RETURNING s.* INTO v_row;
  RETURN v_row;
END;
$$;

REVOKE ALL ON FUNCTION app_jobs.add_scheduled_job(uuid, text, json, json, text, text, integer, integer) FROM PUBLIC;

COMMENT ON FUNCTION app_jobs.add_scheduled_job(uuid, text, json, json, text, text, integer, integer) IS
  'Creates a recurring job definition for tenant db_id and returns it: identifier (task), payload, schedule_info (a JSON object), job_key (optional, unique per tenant: an existing definition with the key is replaced), queue_name, max_attempts, priority of the jobs it enqueues.';

COMMIT;
