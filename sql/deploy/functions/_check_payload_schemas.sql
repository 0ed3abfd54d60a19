-- Deploy pgjobs:functions/_check_payload_schemas to pg
-- requires: types/job_spec
-- requires: functions/_check_job_payload
-- requires: functions/_schema_sql
-- The payload schemas of an enqueue batch (app_jobs._add_jobs calls it once task settings
-- exist): nothing when no task of the batch has a schema; one element through
-- app_jobs._check_job_payload; a batch, per distinct schema, by one statement that evaluates
-- the compiled check (app_jobs._schema_sql) over all its elements' payloads, then the
-- interpreter on the first failing element only, to name its path. The first failing element
-- (in element order) raises PJ190, named as add_jobs names its bad elements
-- ('add_jobs: element 3: payload ...'); nothing is written.

BEGIN;

CREATE FUNCTION app_jobs._check_payload_schemas(p_specs app_jobs.job_spec[], p_fn text)
RETURNS void
LANGUAGE plpgsql
STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v_nil constant uuid := '00000000-0000-0000-0000-000000000000'::uuid;
  v_group record;
  v_first bigint;
  v_bad integer;
  v_schema jsonb;
BEGIN
  -- Unused (no schema anywhere): one look at the small settings table.
  IF NOT EXISTS (SELECT 1 FROM app_jobs.task_settings AS t WHERE t.payload_schema IS NOT NULL) THEN
    RETURN;
  END IF;
  IF pg_catalog.cardinality(p_specs) = 1 THEN
    -- app_jobs._payload_schema and app_jobs._check_job_payload written out: add_job's path.
    SELECT t.payload_schema INTO v_schema
      FROM app_jobs.task_settings AS t
     WHERE t.task_identifier = (p_specs[1]).identifier AND t.payload_schema IS NOT NULL
       AND (t.source = 'code' OR t.database_id IS NULL
            OR t.database_id = coalesce((p_specs[1]).db_id, v_nil))
     ORDER BY CASE WHEN t.source = 'code' THEN 3 WHEN t.database_id IS NULL THEN 2 ELSE 1 END
     LIMIT 1;
    IF v_schema IS NOT NULL
       AND app_jobs._schema_error(v_schema, v_schema, coalesce((p_specs[1]).payload::jsonb, '{}'::jsonb)) IS NOT NULL THEN
      PERFORM app_jobs._check_job_payload((p_specs[1]).db_id, (p_specs[1]).identifier,
                                          (p_specs[1]).payload::jsonb,
                                          CASE WHEN p_fn = 'add_job' THEN 'add_job: ' ELSE p_fn || ': element 1: ' END);
    END IF;
    RETURN;
  END IF;
  FOR v_group IN
    SELECT x.schema, pg_catalog.array_agg(coalesce(x.payload::jsonb, '{}'::jsonb) ORDER BY x.i) AS payloads,
           pg_catalog.array_agg(x.i ORDER BY x.i) AS positions
      FROM (SELECT s.i, s.payload,
                   coalesce(ot.payload_schema, oa.payload_schema, c.payload_schema) AS schema
              FROM pg_catalog.unnest(p_specs) WITH ORDINALITY
                   AS s (db_id, identifier, payload, job_key, queue_name, run_at, max_attempts, priority, i)
              LEFT JOIN app_jobs.task_settings AS ot
                     ON ot.task_identifier = s.identifier AND ot.source = 'operator'
                    AND ot.database_id = coalesce(s.db_id, v_nil)
              LEFT JOIN app_jobs.task_settings AS oa
                     ON oa.task_identifier = s.identifier AND oa.source = 'operator'
                    AND oa.database_id IS NULL
              LEFT JOIN app_jobs.task_settings AS c
                     ON c.task_identifier = s.identifier AND c.source = 'code' AND c.database_id IS NULL) AS x
     WHERE x.schema IS NOT NULL
     GROUP BY x.schema
  LOOP
    EXECUTE pg_catalog.format(
      'SELECT min(p.n) FROM pg_catalog.unnest($1) WITH ORDINALITY AS p (v, n) WHERE NOT %s',
      app_jobs._schema_sql(v_group.schema, v_group.schema, 'p.v'))
      INTO v_first USING v_group.payloads;
    IF v_first IS NOT NULL AND (v_bad IS NULL OR v_group.positions[v_first] < v_bad) THEN
      v_bad := v_group.positions[v_first];
    END IF;
  END LOOP;
  IF v_bad IS NOT NULL THEN
    PERFORM app_jobs._check_job_payload((p_specs[v_bad]).db_id, (p_specs[v_bad]).identifier,
                                        (p_specs[v_bad]).payload::jsonb,
                                        pg_catalog.format('%s: element %s: ', p_fn, v_bad));
  END IF;
END;
$$;

REVOKE ALL ON FUNCTION app_jobs._check_payload_schemas(app_jobs.job_spec[], text) FROM PUBLIC;

COMMENT ON FUNCTION app_jobs._check_payload_schemas(app_jobs.job_spec[], text) IS
  'Internal: raises PJ190 for the first element of an enqueue batch whose payload fails its task''s payload schema (p_fn names the call: add_job, or add_jobs with the element''s position); set-based for a batch (the compiled check), nothing when no task of the batch has a schema.';

COMMIT;
