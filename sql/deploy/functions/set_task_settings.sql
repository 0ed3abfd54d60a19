-- Deploy pgjobs:functions/set_task_settings to pg
-- requires: tables/task_settings
-- requires: functions/_check_task_settings
-- (functions/_check_payload_schema comes later in the plan: PL/pgSQL resolves it at run time.)
-- An operator's settings of a task, for one tenant (db_id) or every tenant (db_id NULL): each
-- setting passed is stored, the others are left as they were (app_jobs.unset_task_settings
-- removes them). They apply to jobs enqueued afterwards that leave the value out, from any
-- language, and win over the settings the application declared (source 'code').
-- payload_schema (issue 19): a JSON Schema the task's payloads must hold from now on, checked
-- (app_jobs._check_payload_schema, PJ191) before it is stored; true turns off a schema the
-- application declared (every payload holds it).

BEGIN;

CREATE FUNCTION app_jobs.set_task_settings(
  identifier text,
  db_id uuid DEFAULT NULL,
  max_attempts integer DEFAULT NULL,
  backoff jsonb DEFAULT NULL,
  priority integer DEFAULT NULL,
  queue_name text DEFAULT NULL,
  timeout interval DEFAULT NULL,
  retention interval DEFAULT NULL,
  payload_schema jsonb DEFAULT NULL)
RETURNS app_jobs.task_settings
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v_row app_jobs.task_settings;
BEGIN
  PERFORM app_jobs._check_task_settings(identifier, max_attempts, backoff, queue_name, timeout,
                                        retention, 'set_task_settings');
  PERFORM app_jobs._check_payload_schema(payload_schema, 'set_task_settings');
  IF pg_catalog.num_nonnulls(max_attempts, backoff, priority, queue_name, timeout, retention,
                             payload_schema) = 0 THEN
    RAISE EXCEPTION USING
      ERRCODE = 'PJ180',
      MESSAGE = 'set_task_settings: pass at least one setting',
      HINT = 'Pass e.g. max_attempts := 3; unset_task_settings removes settings.';
  END IF;
  INSERT INTO app_jobs.task_settings AS t (task_identifier, database_id, source, max_attempts,
                                           backoff, priority, queue_name, timeout, retention,
                                           payload_schema)
  VALUES (identifier, db_id, 'operator', max_attempts, backoff, priority, queue_name, timeout,
          retention, payload_schema)
  ON CONFLICT (task_identifier, source, database_id) DO UPDATE
     SET max_attempts = coalesce(excluded.max_attempts, t.max_attempts),
         backoff = coalesce(excluded.backoff, t.backoff),
         priority = coalesce(excluded.priority, t.priority),
         queue_name = coalesce(excluded.queue_name, t.queue_name),
         timeout = coalesce(excluded.timeout, t.timeout),
         retention = coalesce(excluded.retention, t.retention),
         payload_schema = coalesce(excluded.payload_schema, t.payload_schema),
         updated_at = pg_catalog.now()
  RETURNING t.* INTO v_row;
  RETURN v_row;
END;
$$;

REVOKE ALL ON FUNCTION app_jobs.set_task_settings(text, uuid, integer, jsonb, integer, text, interval, interval, jsonb) FROM PUBLIC;

COMMENT ON FUNCTION app_jobs.set_task_settings(text, uuid, integer, jsonb, integer, text, interval, interval, jsonb) IS
  'An operator''s settings of task identifier for tenant db_id (NULL: every tenant): max_attempts, backoff (add_job''s options), priority, queue_name, timeout, retention, payload_schema (a JSON Schema the task''s payloads must hold at enqueue; refused with PJ191 if it uses a keyword pgjobs does not check). Settings passed are stored, the others kept. They apply to jobs enqueued later that leave the value out and win over the application''s declared (code) settings; a tenant''s own setting wins over the all-tenants one. Returns the stored row.';

COMMIT;
