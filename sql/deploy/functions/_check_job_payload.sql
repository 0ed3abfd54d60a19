-- Deploy pgjobs:functions/_check_job_payload to pg
-- requires: functions/_payload_schema
-- requires: functions/_schema_error
-- One payload against its task's payload schema (add_job, a schedule): PJ190 when it fails,
-- naming where (a JSON Pointer into the payload) and the keyword; p_where starts the message
-- ('add_job: ', 'add_jobs: element 3: ', 'schedule 12: '). Nothing when the task has no
-- schema. A NULL payload is checked as {} (what the job stores).

BEGIN;

CREATE FUNCTION app_jobs._check_job_payload(p_db_id uuid, p_identifier text, p_payload jsonb,
                                            p_where text)
RETURNS void
LANGUAGE plpgsql
STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v_schema jsonb := app_jobs._payload_schema(p_db_id, p_identifier);
  v_error text[];
BEGIN
  IF v_schema IS NULL THEN
    RETURN;
  END IF;
  v_error := app_jobs._schema_error(v_schema, v_schema, coalesce(p_payload, '{}'::jsonb));
  IF v_error IS NOT NULL THEN
    RAISE EXCEPTION USING
      ERRCODE = 'PJ190',
      MESSAGE = pg_catalog.format('%spayload does not match the payload schema of task %s at %s: %s (%s)',
                                  p_where, pg_catalog.quote_literal(pg_catalog.left(p_identifier, 300)),
                                  coalesce(nullif(v_error[1], ''), '/ (the payload itself)'), v_error[3], v_error[2]),
      DETAIL = pg_catalog.format('path: %s; keyword: %s', v_error[1], v_error[2]),
      HINT = 'Fix the payload at that path (app_jobs.validate_payload(task, payload) names the first problem), or change the task''s schema (the handler''s model, or app_jobs.set_task_settings(payload_schema := ...)).';
  END IF;
END;
$$;

REVOKE ALL ON FUNCTION app_jobs._check_job_payload(uuid, text, jsonb, text) FROM PUBLIC;

COMMENT ON FUNCTION app_jobs._check_job_payload(uuid, text, jsonb, text) IS
  'Internal: raises PJ190 (path, keyword, what to do) when p_payload (NULL: {}) fails the payload schema of task p_identifier for tenant p_db_id; p_where starts the message. Nothing without a schema.';

COMMIT;
