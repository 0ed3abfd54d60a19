-- Deploy pgjobs:functions/declare_task_settings to pg
-- requires: tables/task_settings
-- requires: functions/_check_task_settings
-- (functions/_check_payload_schema comes later in the plan: PL/pgSQL resolves it at run time.)
-- The application's settings of its tasks (source 'code'), all in one call, made when an App
-- or worker starts: settings is a JSON object {task: {setting: value, ...}, ...} with the
-- settings max_attempts (integer), backoff (add_job's options object), priority (integer),
-- queue_name (text), timeout and retention (an interval as text, e.g. "5 minutes", or a number
-- of seconds), payload_schema (a JSON Schema, e.g. a pydantic model's model_json_schema(),
-- checked by app_jobs._check_payload_schema: PJ191). A task's declaration replaces its stored code settings (a setting left out is
-- no longer set; {} removes them all); tasks not named are left alone (another application
-- may declare them). Rolling deploys: code_version orders declarations. One with a lower
-- version than the stored row is ignored, so an old worker (re)starting while new ones run
-- does not bring its settings back; an equal or higher one replaces them. A row is written
-- only when something changed, so every start of an unchanged application writes nothing.
-- The operator's settings (set_task_settings) are never touched and win over these.

BEGIN;

CREATE FUNCTION app_jobs.declare_task_settings(
  settings jsonb,
  code_version integer DEFAULT 0)
RETURNS integer
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v_known constant text[] := ARRAY['max_attempts', 'backoff', 'priority', 'queue_name', 'timeout', 'retention', 'payload_schema'];
  v_task record;
  v_key text;
  v_value jsonb;
  v_problem text;
  v_tasks text[] := '{}'::text[];
  v_max_attempts integer[] := '{}'::integer[];
  v_backoffs jsonb[] := '{}'::jsonb[];
  v_priorities integer[] := '{}'::integer[];
  v_queues text[] := '{}'::text[];
  v_timeouts interval[] := '{}'::interval[];
  v_retentions interval[] := '{}'::interval[];
  v_schemas jsonb[] := '{}'::jsonb[];
  v_intervals interval[];
  v_count integer;
  v_deleted integer;
BEGIN
  IF pg_catalog.jsonb_typeof(settings) IS DISTINCT FROM 'object' THEN
    RAISE EXCEPTION USING
      ERRCODE = 'PJ180',
      MESSAGE = 'declare_task_settings: settings must be a JSON object of task names to settings objects',
      DETAIL = pg_catalog.format('settings = %s', coalesce(pg_catalog.left(settings::text, 300), 'NULL')),
      HINT = 'Pass e.g. ''{"charge": {"max_attempts": 2, "timeout": "30 seconds"}}''.';
  END IF;
  IF code_version IS NULL OR code_version < 0 THEN
    RAISE EXCEPTION USING
      ERRCODE = 'PJ180',
      MESSAGE = pg_catalog.format('declare_task_settings: code_version must be 0 or more, got %s', coalesce(code_version::text, 'NULL')),
      HINT = 'Leave code_version out (0), or raise it with each release that changes task settings.';
  END IF;
  FOR v_task IN SELECT e.key, e.value FROM pg_catalog.jsonb_each(settings) AS e ORDER BY e.key LOOP
    v_problem := NULL;
    IF pg_catalog.jsonb_typeof(v_task.value) <> 'object' THEN
      v_problem := 'the settings of a task must be a JSON object';
    ELSE
      SELECT pg_catalog.format('unknown setting %L', k) INTO v_problem
        FROM pg_catalog.jsonb_object_keys(v_task.value) AS k WHERE k <> ALL (v_known) LIMIT 1;
    END IF;
    FOREACH v_key IN ARRAY ARRAY['max_attempts', 'priority'] LOOP
      v_value := v_task.value -> v_key;
      IF v_problem IS NULL AND v_value IS NOT NULL AND pg_catalog.jsonb_typeof(v_value) <> 'null'
         AND NOT (pg_catalog.jsonb_typeof(v_value) = 'number' AND v_value::text ~ '^-?[0-9]{1,10}$'
                  AND v_value::text::bigint BETWEEN -2147483648 AND 2147483647) THEN
        v_problem := pg_catalog.format('%s must be a whole number', v_key);
      END IF;
    END LOOP;
    IF v_problem IS NULL AND pg_catalog.jsonb_typeof(v_task.value -> 'queue_name') NOT IN ('string', 'null') THEN
      v_problem := 'queue_name must be a string';
    END IF;
    v_intervals := '{}'::interval[];
    FOREACH v_key IN ARRAY ARRAY['timeout', 'retention'] LOOP
      v_value := v_task.value -> v_key;
      IF v_problem IS NOT NULL OR v_value IS NULL OR pg_catalog.jsonb_typeof(v_value) = 'null' THEN
        v_intervals := v_intervals || NULL::interval;
      ELSIF pg_catalog.jsonb_typeof(v_value) = 'number' AND (v_value::text)::numeric > 0
            AND (v_value::text)::numeric <= 3200000000 THEN
        v_intervals := v_intervals || pg_catalog.make_interval(secs => (v_value::text)::double precision);
      ELSIF pg_catalog.jsonb_typeof(v_value) = 'string' AND pg_catalog.length(v_value #>> '{}') <= 100 THEN
        BEGIN
          v_intervals := v_intervals || (v_value #>> '{}')::interval;
        EXCEPTION WHEN invalid_datetime_format OR datetime_field_overflow OR interval_field_overflow THEN
          v_problem := pg_catalog.format('%s must be an interval (e.g. "5 minutes") or a number of seconds', v_key);
        END;
      ELSE
        v_problem := pg_catalog.format('%s must be an interval (e.g. "5 minutes") or a positive number of seconds', v_key);
      END IF;
    END LOOP;
    IF v_problem IS NOT NULL THEN
      RAISE EXCEPTION USING
        ERRCODE = 'PJ180',
        MESSAGE = pg_catalog.format('declare_task_settings: task %s: %s', pg_catalog.quote_literal(pg_catalog.left(v_task.key, 300)), v_problem),
        DETAIL = pg_catalog.format('settings = %s', pg_catalog.left(v_task.value::text, 300)),
        HINT = 'Known settings: max_attempts and priority (whole numbers), backoff (an object), queue_name (text), timeout and retention (an interval as text or seconds), payload_schema (a JSON Schema).';
    END IF;
    PERFORM app_jobs._check_task_settings(
      v_task.key, (v_task.value ->> 'max_attempts')::integer,
      CASE WHEN pg_catalog.jsonb_typeof(v_task.value -> 'backoff') <> 'null' THEN v_task.value -> 'backoff' END,
      v_task.value ->> 'queue_name', v_intervals[1], v_intervals[2],
      pg_catalog.format('declare_task_settings: task %s', pg_catalog.quote_literal(v_task.key)));
    PERFORM app_jobs._check_payload_schema(
      nullif(v_task.value -> 'payload_schema', 'null'::jsonb),
      pg_catalog.format('declare_task_settings: task %s', pg_catalog.quote_literal(v_task.key)));
    v_tasks := v_tasks || v_task.key;
    v_max_attempts := v_max_attempts || (v_task.value ->> 'max_attempts')::integer;
    v_backoffs := v_backoffs || CASE WHEN pg_catalog.jsonb_typeof(v_task.value -> 'backoff') <> 'null' THEN v_task.value -> 'backoff' END;
    v_priorities := v_priorities || (v_task.value ->> 'priority')::integer;
    v_queues := v_queues || (v_task.value ->> 'queue_name');
    v_timeouts := v_timeouts || v_intervals[1];
    v_retentions := v_retentions || v_intervals[2];
    v_schemas := v_schemas || nullif(v_task.value -> 'payload_schema', 'null'::jsonb);
  END LOOP;

  -- A task declared without any setting: its code row goes (if not from a newer version).
  DELETE FROM app_jobs.task_settings AS t
   USING ROWS FROM (pg_catalog.unnest(v_tasks), pg_catalog.unnest(v_max_attempts),
                    pg_catalog.unnest(v_backoffs), pg_catalog.unnest(v_priorities),
                    pg_catalog.unnest(v_queues), pg_catalog.unnest(v_timeouts),
                    pg_catalog.unnest(v_retentions), pg_catalog.unnest(v_schemas))
         AS d (task, max_attempts, backoff, priority, queue_name, timeout, retention, payload_schema)
   WHERE t.task_identifier = d.task AND t.source = 'code'
     AND pg_catalog.num_nonnulls(d.max_attempts, d.backoff, d.priority, d.queue_name, d.timeout,
                                 d.retention, d.payload_schema) = 0
     AND t.code_version <= declare_task_settings.code_version;
  GET DIAGNOSTICS v_deleted = ROW_COUNT;

  -- In task order, so two declarers lock shared rows in one order.
  INSERT INTO app_jobs.task_settings AS t (task_identifier, database_id, source, max_attempts,
                                           backoff, priority, queue_name, timeout, retention,
                                           payload_schema, code_version)
  SELECT d.task, NULL, 'code', d.max_attempts, d.backoff, d.priority, d.queue_name, d.timeout,
         d.retention, d.payload_schema, declare_task_settings.code_version
    FROM ROWS FROM (pg_catalog.unnest(v_tasks), pg_catalog.unnest(v_max_attempts),
                    pg_catalog.unnest(v_backoffs), pg_catalog.unnest(v_priorities),
                    pg_catalog.unnest(v_queues), pg_catalog.unnest(v_timeouts),
                    pg_catalog.unnest(v_retentions), pg_catalog.unnest(v_schemas))
         AS d (task, max_attempts, backoff, priority, queue_name, timeout, retention, payload_schema)
   WHERE pg_catalog.num_nonnulls(d.max_attempts, d.backoff, d.priority, d.queue_name, d.timeout,
                                 d.retention, d.payload_schema) > 0
     -- Unchanged rows are not even locked: a declarer inside a long transaction (an App
     -- enqueueing on the caller's connection) blocks no one in the steady state.
     AND NOT EXISTS (
       SELECT 1 FROM app_jobs.task_settings AS o
        WHERE o.task_identifier = d.task AND o.source = 'code'
          AND (o.code_version > declare_task_settings.code_version
               OR (o.max_attempts, o.backoff, o.priority, o.queue_name, o.timeout, o.retention,
                   o.payload_schema, o.code_version)
                  IS NOT DISTINCT FROM (d.max_attempts, d.backoff, d.priority, d.queue_name,
                                        d.timeout, d.retention, d.payload_schema,
                                        declare_task_settings.code_version)))
   ORDER BY d.task
  ON CONFLICT (task_identifier, source, database_id) DO UPDATE
     SET max_attempts = excluded.max_attempts,
         backoff = excluded.backoff,
         priority = excluded.priority,
         queue_name = excluded.queue_name,
         timeout = excluded.timeout,
         retention = excluded.retention,
         payload_schema = excluded.payload_schema,
         code_version = excluded.code_version,
         updated_at = pg_catalog.now()
   WHERE excluded.code_version >= t.code_version
     AND (t.max_attempts, t.backoff, t.priority, t.queue_name, t.timeout, t.retention,
          t.payload_schema, t.code_version)
         IS DISTINCT FROM (excluded.max_attempts, excluded.backoff, excluded.priority,
                           excluded.queue_name, excluded.timeout, excluded.retention,
                           excluded.payload_schema, excluded.code_version);
  GET DIAGNOSTICS v_count = ROW_COUNT;
  RETURN v_count + v_deleted;
END;
$$;

REVOKE ALL ON FUNCTION app_jobs.declare_task_settings(jsonb, integer) FROM PUBLIC;

COMMENT ON FUNCTION app_jobs.declare_task_settings(jsonb, integer) IS
  'The application''s (code) settings of its tasks, in one call at start: settings = {"task": {"max_attempts": 2, "backoff": {...}, "priority": 0, "queue_name": "q", "timeout": "30 seconds", "retention": "7 days", "payload_schema": {...}}, ...}. Each task named gets exactly the settings given ({} removes them); others are untouched. Ignored for a task whose stored declaration has a higher code_version (rolling deploys); written only when changed. Operator settings win over these. Returns the number of rows written.';

COMMIT;
