-- Deploy pgjobs:functions/_check_payload_schemas to pg
-- requires: types/job_spec
-- requires: functions/_check_job_payload
-- requires: functions/_schema_sql
-- requires: functions/_payload_schema
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
  v_first integer;
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
  -- A batch: the schema of each distinct (task, tenant) of the batch (a few lookups), then per
  -- distinct schema one statement over the batch. The payload is cast to jsonb once per row
  -- (OFFSET 0 keeps the subquery from being flattened into each use of the value).
  FOR v_group IN
    SELECT k.schema, pg_catalog.array_agg(k.identifier) AS identifiers, pg_catalog.array_agg(k.db) AS dbs
      FROM (SELECT d.identifier, d.db, app_jobs._payload_schema(d.db, d.identifier) AS schema
              FROM (SELECT DISTINCT s.identifier, coalesce(s.db_id, v_nil) AS db
                      FROM pg_catalog.unnest(p_specs) AS s
                    OFFSET 0) AS d) AS k  -- OFFSET 0: the lookup runs after DISTINCT, not per element
     WHERE k.schema IS NOT NULL
     GROUP BY k.schema
  LOOP
    EXECUTE pg_catalog.format(
      'SELECT min(p.i)::integer FROM (SELECT s.i, coalesce(s.payload::jsonb, ''{}''::jsonb) AS v'
      '  FROM pg_catalog.unnest($1) WITH ORDINALITY'
      '       AS s (db_id, identifier, payload, job_key, queue_name, run_at, max_attempts, priority, i)'
      ' WHERE (s.identifier, coalesce(s.db_id, %L::uuid)) IN (SELECT * FROM ROWS FROM (pg_catalog.unnest($2), pg_catalog.unnest($3)))'
      ' OFFSET 0) AS p WHERE NOT %s',
      v_nil, app_jobs._schema_sql(v_group.schema, v_group.schema, 'p.v'))
      INTO v_first USING p_specs, v_group.identifiers, v_group.dbs;
    IF v_first IS NOT NULL AND (v_bad IS NULL OR v_first < v_bad) THEN
      v_bad := v_first;
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
