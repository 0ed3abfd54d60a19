-- Deploy pgjobs:functions/_payload_schema to pg
-- requires: tables/task_settings
-- The payload schema a job of task p_identifier of tenant p_db_id is checked against, by the
-- task settings' precedence: the operator's for the tenant, the operator's for every tenant,
-- the application's (code). NULL: none (the payload is not checked).

BEGIN;

CREATE FUNCTION app_jobs._payload_schema(p_db_id uuid, p_identifier text)
RETURNS jsonb
LANGUAGE sql
STABLE
SET search_path = pg_catalog, pg_temp
AS $$
  SELECT t.payload_schema
    FROM app_jobs.task_settings AS t
   WHERE t.task_identifier = p_identifier AND t.payload_schema IS NOT NULL
     AND (t.source = 'code'
          OR t.database_id IS NULL
          OR t.database_id = coalesce(p_db_id, '00000000-0000-0000-0000-000000000000'::uuid))
   ORDER BY CASE WHEN t.source = 'code' THEN 3 WHEN t.database_id IS NULL THEN 2 ELSE 1 END
   LIMIT 1;
$$;

REVOKE ALL ON FUNCTION app_jobs._payload_schema(uuid, text) FROM PUBLIC;

COMMENT ON FUNCTION app_jobs._payload_schema(uuid, text) IS
  'Internal: the payload schema of task p_identifier for tenant p_db_id (operator for the tenant > operator for all > code), or NULL.';

COMMIT;
