-- Deploy pgjobs:functions/_task_defaults to pg
-- requires: tables/task_settings
-- The settings that apply to a job of task p_identifier of tenant p_db_id when its enqueue
-- leaves them out, each field from the first source that sets it: the operator's for the
-- tenant, the operator's for every tenant, the application's (code). NULL: not set (the
-- built-in default applies). One row, always. The schedules use it (one call per schedule
-- fired); _add_jobs joins task_settings the same way, set-based, for a whole batch.

BEGIN;

CREATE FUNCTION app_jobs._task_defaults(p_db_id uuid, p_identifier text)
RETURNS TABLE (max_attempts integer, backoff jsonb, priority integer, queue_name text,
               timeout interval)
LANGUAGE sql
STABLE
SET search_path = pg_catalog, pg_temp
AS $$
  SELECT coalesce(ot.max_attempts, oa.max_attempts, c.max_attempts),
         coalesce(ot.backoff, oa.backoff, c.backoff),
         coalesce(ot.priority, oa.priority, c.priority),
         coalesce(ot.queue_name, oa.queue_name, c.queue_name),
         coalesce(ot.timeout, oa.timeout, c.timeout)
    FROM (SELECT 1) AS one
    LEFT JOIN app_jobs.task_settings AS ot
           ON ot.task_identifier = p_identifier AND ot.source = 'operator'
          AND ot.database_id = coalesce(p_db_id, '00000000-0000-0000-0000-000000000000'::uuid)
    LEFT JOIN app_jobs.task_settings AS oa
           ON oa.task_identifier = p_identifier AND oa.source = 'operator'
          AND oa.database_id IS NULL
    LEFT JOIN app_jobs.task_settings AS c
           ON c.task_identifier = p_identifier AND c.source = 'code' AND c.database_id IS NULL;
$$;

REVOKE ALL ON FUNCTION app_jobs._task_defaults(uuid, text) FROM PUBLIC;

COMMENT ON FUNCTION app_jobs._task_defaults(uuid, text) IS
  'Internal: the task settings a job of task p_identifier of tenant p_db_id gets when its enqueue leaves them out (operator for the tenant > operator for all > code; NULL: the built-in default).';

COMMIT;
