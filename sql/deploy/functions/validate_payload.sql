-- Deploy pgjobs:functions/validate_payload to pg
-- requires: functions/_payload_schema
-- requires: functions/_schema_error
-- requires: functions/_tenant
-- Checks a payload against the payload schema of a task (for tenant db_id) without
-- enqueueing: no row when it holds (or the task has no schema), else one row naming where it
-- first fails (a JSON Pointer into the payload, '' for the payload itself), the JSON Schema
-- keyword and what is wrong: what add_job would refuse with PJ190.

BEGIN;

CREATE FUNCTION app_jobs.validate_payload(
  identifier text,
  payload jsonb,
  db_id uuid DEFAULT NULL)
RETURNS TABLE (path text, keyword text, message text)
LANGUAGE plpgsql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v_schema jsonb;
  v_error text[];
BEGIN
  IF identifier IS NULL OR identifier = '' OR pg_catalog.length(identifier) > 255 THEN
    RAISE EXCEPTION USING
      ERRCODE = 'PJ101',
      MESSAGE = 'validate_payload: identifier (the task name) must be a non-empty text of at most 255 characters',
      HINT = 'Pass the name of the task whose payload schema applies, e.g. ''send_email''.';
  END IF;
  db_id := app_jobs._tenant(db_id, 'validate_payload');  -- tenant isolation (issue 15)
  v_schema := app_jobs._payload_schema(db_id, identifier);
  IF v_schema IS NULL THEN
    RETURN;
  END IF;
  v_error := app_jobs._schema_error(v_schema, v_schema, coalesce(payload, '{}'::jsonb));
  IF v_error IS NOT NULL THEN
    path := v_error[1];
    keyword := v_error[2];
    message := v_error[3];
    RETURN NEXT;
  END IF;
END;
$$;

REVOKE ALL ON FUNCTION app_jobs.validate_payload(text, jsonb, uuid) FROM PUBLIC;

COMMENT ON FUNCTION app_jobs.validate_payload(text, jsonb, uuid) IS
  'Checks payload (NULL: {}) against the payload schema of task identifier for tenant db_id without enqueueing: no row when it holds or the task has no schema, else one row (path: a JSON Pointer into the payload, keyword: the JSON Schema keyword that failed, message), the problem add_job would refuse with PJ190.';

COMMIT;
