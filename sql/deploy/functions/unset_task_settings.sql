-- Deploy pgjobs:functions/unset_task_settings to pg
-- requires: tables/task_settings
-- Removes an operator's settings of a task (for tenant db_id, or the all-tenants ones when
-- db_id is NULL): the named settings, or all of them. The application's declared (code)
-- settings are never touched here: they change when the application declares new ones.

BEGIN;

CREATE FUNCTION app_jobs.unset_task_settings(
  identifier text,
  db_id uuid DEFAULT NULL,
  settings text[] DEFAULT NULL)
RETURNS integer
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v_known constant text[] := ARRAY['max_attempts', 'backoff', 'priority', 'queue_name', 'timeout', 'retention', 'payload_schema'];
  v_bad text;
  v_count integer;
BEGIN
  IF identifier IS NULL OR identifier = '' OR pg_catalog.length(identifier) > 255 THEN
    RAISE EXCEPTION USING
      ERRCODE = 'PJ101',
      MESSAGE = 'unset_task_settings: identifier (the task name) must be a non-empty text of at most 255 characters',
      HINT = 'Pass the name of the task whose settings go, e.g. ''send_email''.';
  END IF;
  SELECT s INTO v_bad FROM pg_catalog.unnest(settings) AS s
   WHERE s IS NULL OR s <> ALL (v_known) LIMIT 1;
  IF FOUND OR settings = '{}' THEN
    RAISE EXCEPTION USING
      ERRCODE = 'PJ180',
      MESSAGE = pg_catalog.format('unset_task_settings: unknown setting %s', coalesce(pg_catalog.quote_literal(pg_catalog.left(v_bad, 100)), 'NULL')),
      DETAIL = pg_catalog.format('settings = %s', pg_catalog.left(settings::text, 300)),
      HINT = 'Name settings among max_attempts, backoff, priority, queue_name, timeout, retention and payload_schema, or leave settings out to remove them all.';
  END IF;
  IF settings IS NULL THEN
    DELETE FROM app_jobs.task_settings AS t
     WHERE t.task_identifier = identifier AND t.source = 'operator'
       AND t.database_id IS NOT DISTINCT FROM db_id;
    GET DIAGNOSTICS v_count = ROW_COUNT;
    RETURN v_count;
  END IF;
  UPDATE app_jobs.task_settings AS t
     SET max_attempts = CASE WHEN 'max_attempts' = ANY (settings) THEN NULL ELSE t.max_attempts END,
         backoff = CASE WHEN 'backoff' = ANY (settings) THEN NULL ELSE t.backoff END,
         priority = CASE WHEN 'priority' = ANY (settings) THEN NULL ELSE t.priority END,
         queue_name = CASE WHEN 'queue_name' = ANY (settings) THEN NULL ELSE t.queue_name END,
         timeout = CASE WHEN 'timeout' = ANY (settings) THEN NULL ELSE t.timeout END,
         retention = CASE WHEN 'retention' = ANY (settings) THEN NULL ELSE t.retention END,
         payload_schema = CASE WHEN 'payload_schema' = ANY (settings) THEN NULL ELSE t.payload_schema END,
         updated_at = pg_catalog.now()
   WHERE t.task_identifier = identifier AND t.source = 'operator'
     AND t.database_id IS NOT DISTINCT FROM db_id;
  GET DIAGNOSTICS v_count = ROW_COUNT;
  -- A row left without any setting goes.
  DELETE FROM app_jobs.task_settings AS t
   WHERE t.task_identifier = identifier AND t.source = 'operator'
     AND t.database_id IS NOT DISTINCT FROM db_id
     AND pg_catalog.num_nonnulls(t.max_attempts, t.backoff, t.priority, t.queue_name, t.timeout,
                                 t.retention, t.payload_schema) = 0;
  RETURN v_count;
END;
$$;

REVOKE ALL ON FUNCTION app_jobs.unset_task_settings(text, uuid, text[]) FROM PUBLIC;

COMMENT ON FUNCTION app_jobs.unset_task_settings(text, uuid, text[]) IS
  'Removes an operator''s settings of task identifier for tenant db_id (NULL: the all-tenants settings): the settings named (max_attempts, backoff, priority, queue_name, timeout, retention, payload_schema), or all when settings is NULL. The application''s declared settings are not touched. Returns 1 if a row changed, else 0.';

COMMIT;
