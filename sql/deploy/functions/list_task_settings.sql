-- Deploy pgjobs:functions/list_task_settings to pg
-- requires: tables/task_settings
-- The effective settings of every task that has any (declared or set), one row per task and
-- setting, and where each value comes from: 'operator (tenant)' (set for tenant db_id),
-- 'operator' (set for every tenant), 'code' (declared by the application) or 'default'
-- (built in); payload_schema's value is the JSON Schema's text. With db_id NULL, what a tenant
-- without settings of its own gets. `pgjobs tasks`
-- prints it.

BEGIN;

CREATE FUNCTION app_jobs.list_task_settings(db_id uuid DEFAULT NULL)
RETURNS TABLE (task_identifier text, setting text, value text, source text)
LANGUAGE sql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
  WITH tasks AS (
    SELECT DISTINCT t.task_identifier
      FROM app_jobs.task_settings AS t
     WHERE t.database_id IS NULL OR t.database_id = list_task_settings.db_id),
  layers AS (
    SELECT t.task_identifier,
           CASE WHEN t.source = 'code' THEN 3 WHEN t.database_id IS NULL THEN 2 ELSE 1 END AS rank,
           CASE WHEN t.source = 'code' THEN 'code'
                WHEN t.database_id IS NULL THEN 'operator' ELSE 'operator (tenant)' END AS source,
           ARRAY[t.max_attempts::text, t.backoff::text, t.priority::text, t.queue_name,
                 t.timeout::text, t.retention::text, t.payload_schema::text] AS "values"
      FROM app_jobs.task_settings AS t
     WHERE t.database_id IS NULL OR t.database_id = list_task_settings.db_id
    UNION ALL
    SELECT k.task_identifier, 4, 'default', ARRAY['25', NULL, '0', NULL, NULL, NULL, NULL]
      FROM tasks AS k)
  SELECT k.task_identifier, n.setting, v.value, v.source
    FROM tasks AS k
   CROSS JOIN ROWS FROM (pg_catalog.unnest(ARRAY['max_attempts', 'backoff', 'priority',
                                                 'queue_name', 'timeout', 'retention',
                                                 'payload_schema']))
         WITH ORDINALITY AS n (setting, i)
   CROSS JOIN LATERAL (
     SELECT l."values"[n.i] AS value, l.source
       FROM layers AS l
      WHERE l.task_identifier = k.task_identifier
        AND (l."values"[n.i] IS NOT NULL OR l.rank = 4)
      ORDER BY l.rank
      LIMIT 1) AS v
   ORDER BY k.task_identifier, n.i;
$$;

REVOKE ALL ON FUNCTION app_jobs.list_task_settings(uuid) FROM PUBLIC;

COMMENT ON FUNCTION app_jobs.list_task_settings(uuid) IS
  'The effective settings of every task with declared or set settings, for tenant db_id (NULL: a tenant without settings of its own): one row per task and setting (max_attempts, backoff, priority, queue_name, timeout, retention, payload_schema: the JSON Schema as text) with its value as text (NULL: not set) and its source: operator (tenant), operator, code or default.';

COMMIT;
