-- Deploy pgjobs:functions/_schema_sql to pg
-- requires: functions/_schema_error
-- requires: functions/_schema_format_pattern
-- The JSON Schema check, compiled: a boolean SQL expression, over the jsonb SQL expression
-- p_x, that is true exactly when the value holds p_schema (the rules of
-- app_jobs._schema_error, which names the failing path). A bulk enqueue evaluates it over the
-- whole batch in one statement (no PL/pgSQL call per element, so a schema costs little per
-- job). $refs are expanded in place; a $ref back into a definition being expanded (a recursive
-- schema) calls app_jobs._schema_error for that value instead, provided the value descended
-- (p_level counts descents into properties and items) since the definition was entered; a
-- cycle that does not descend is refused (PJ191), since it would never end. The expansion is
-- bounded: an expression over 1,000,000 characters is refused (PJ191), so a schema whose
-- $refs multiply (allOf of the same definition twice, nested) cannot make the check spin.
-- Every literal goes through format('%L'); only app_jobs._check_payload_schema's accepted
-- schemas reach here.

BEGIN;

CREATE FUNCTION app_jobs._schema_sql(p_root jsonb, p_schema jsonb, p_x text,
                                     p_level integer DEFAULT 0, p_refs text[] DEFAULT '{}')
RETURNS text
LANGUAGE plpgsql
IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v_parts text[] := '{}'::text[];
  v_typed text[];
  v_t text := pg_catalog.format('pg_catalog.jsonb_typeof(%s)', p_x);
  v_n text := pg_catalog.format('(%s)::numeric', p_x);
  v_s text := pg_catalog.format('(%s #>> ''{}'')', p_x);
  v_types text[];
  v_ref text;
  v_name text;
  v_sub jsonb;
  v_key text;
  v_alts text[];
  v_prefix integer;
  v_e text := 'e' || p_level;
  v_out text;
BEGIN
  IF p_schema = 'true'::jsonb OR p_schema = '{}'::jsonb THEN
    RETURN 'true';
  ELSIF p_schema = 'false'::jsonb THEN
    RETURN 'false';
  END IF;

  IF p_schema ? '$ref' THEN
    v_ref := p_schema ->> '$ref';
    v_name := CASE WHEN v_ref = '#' THEN '#' ELSE pg_catalog.substr(v_ref, 9) END;
    v_sub := CASE WHEN v_ref = '#' THEN p_root ELSE p_root -> '$defs' -> v_name END;
    IF EXISTS (SELECT 1 FROM pg_catalog.unnest(p_refs) AS r
                WHERE r = v_name || '@' || p_level) THEN
      RAISE EXCEPTION USING
        ERRCODE = 'PJ191',
        MESSAGE = pg_catalog.format('payload schema: $ref %s comes back to itself without descending into the value', v_ref),
        DETAIL = 'Such a schema would be checked forever; a recursive $ref must sit under properties, items or additionalProperties.',
        HINT = 'Remove the $ref cycle.';
    ELSIF EXISTS (SELECT 1 FROM pg_catalog.unnest(p_refs) AS r
                   WHERE pg_catalog.split_part(r, '@', 1) = v_name) THEN
      v_parts := v_parts || pg_catalog.format('(app_jobs._schema_error(%L::jsonb, %L::jsonb, %s) IS NULL)',
                                              p_root, v_sub, p_x);
    ELSE
      v_parts := v_parts || app_jobs._schema_sql(p_root, v_sub, p_x, p_level,
                                                 p_refs || (v_name || '@' || p_level));
    END IF;
  END IF;

  IF p_schema ? 'type' THEN
    v_types := CASE WHEN pg_catalog.jsonb_typeof(p_schema -> 'type') = 'string'
                    THEN ARRAY[p_schema ->> 'type']
                    ELSE ARRAY(SELECT pg_catalog.jsonb_array_elements_text(p_schema -> 'type')) END;
    v_parts := v_parts || pg_catalog.format('(%s = ANY (%L::text[])%s)', v_t,
                 ARRAY(SELECT t FROM pg_catalog.unnest(v_types) AS t WHERE t <> 'integer'),
                 CASE WHEN 'integer' = ANY (v_types) AND NOT 'number' = ANY (v_types)
                      THEN pg_catalog.format(' OR CASE WHEN %s = ''number'' THEN %s = pg_catalog.trunc(%s) ELSE false END', v_t, v_n, v_n)
                      ELSE '' END);
  END IF;
  IF p_schema ? 'const' THEN
    v_parts := v_parts || pg_catalog.format('(%s = %L::jsonb)', p_x, p_schema -> 'const');
  END IF;
  IF p_schema ? 'enum' THEN
    v_parts := v_parts || pg_catalog.format('(%s = ANY (%L::jsonb[]))', p_x,
                 ARRAY(SELECT pg_catalog.jsonb_array_elements(p_schema -> 'enum')));
  END IF;

  -- number
  v_typed := '{}'::text[];
  IF p_schema ? 'minimum' THEN v_typed := v_typed || pg_catalog.format('%s >= %s', v_n, (p_schema ->> 'minimum')::numeric); END IF;
  IF p_schema ? 'maximum' THEN v_typed := v_typed || pg_catalog.format('%s <= %s', v_n, (p_schema ->> 'maximum')::numeric); END IF;
  IF p_schema ? 'exclusiveMinimum' THEN v_typed := v_typed || pg_catalog.format('%s > %s', v_n, (p_schema ->> 'exclusiveMinimum')::numeric); END IF;
  IF p_schema ? 'exclusiveMaximum' THEN v_typed := v_typed || pg_catalog.format('%s < %s', v_n, (p_schema ->> 'exclusiveMaximum')::numeric); END IF;
  IF p_schema ? 'multipleOf' THEN v_typed := v_typed || pg_catalog.format('%s %% %s = 0', v_n, (p_schema ->> 'multipleOf')::numeric); END IF;
  IF pg_catalog.cardinality(v_typed) > 0 THEN
    v_parts := v_parts || pg_catalog.format('CASE WHEN %s = ''number'' THEN %s ELSE true END', v_t,
                                            pg_catalog.array_to_string(v_typed, ' AND '));
  END IF;

  -- string
  v_typed := '{}'::text[];
  IF p_schema ? 'minLength' THEN v_typed := v_typed || pg_catalog.format('pg_catalog.length(%s) >= %s', v_s, (p_schema ->> 'minLength')::integer); END IF;
  IF p_schema ? 'maxLength' THEN v_typed := v_typed || pg_catalog.format('pg_catalog.length(%s) <= %s', v_s, (p_schema ->> 'maxLength')::integer); END IF;
  IF p_schema ? 'pattern' THEN v_typed := v_typed || pg_catalog.format('%s ~ %L', v_s, p_schema ->> 'pattern'); END IF;
  IF app_jobs._schema_format_pattern(p_schema ->> 'format') IS NOT NULL THEN
    v_typed := v_typed || pg_catalog.format('%s ~ %L', v_s, app_jobs._schema_format_pattern(p_schema ->> 'format'));
  END IF;
  IF pg_catalog.cardinality(v_typed) > 0 THEN
    v_parts := v_parts || pg_catalog.format('CASE WHEN %s = ''string'' THEN %s ELSE true END', v_t,
                                            pg_catalog.array_to_string(v_typed, ' AND '));
  END IF;

  -- array
  v_typed := '{}'::text[];
  IF p_schema ? 'minItems' THEN v_typed := v_typed || pg_catalog.format('pg_catalog.jsonb_array_length(%s) >= %s', p_x, (p_schema ->> 'minItems')::integer); END IF;
  IF p_schema ? 'maxItems' THEN v_typed := v_typed || pg_catalog.format('pg_catalog.jsonb_array_length(%s) <= %s', p_x, (p_schema ->> 'maxItems')::integer); END IF;
  IF p_schema -> 'uniqueItems' = 'true'::jsonb THEN
    v_typed := v_typed || pg_catalog.format('(SELECT pg_catalog.count(DISTINCT u) = pg_catalog.count(*) FROM pg_catalog.jsonb_array_elements(%s) AS u)', p_x);
  END IF;
  v_prefix := coalesce(pg_catalog.jsonb_array_length(p_schema -> 'prefixItems'), 0);
  FOR v_i IN 0 .. v_prefix - 1 LOOP
    v_typed := v_typed || pg_catalog.format('(pg_catalog.jsonb_array_length(%s) <= %s OR %s)', p_x, v_i,
                 app_jobs._schema_sql(p_root, p_schema -> 'prefixItems' -> v_i,
                                      pg_catalog.format('(%s -> %s)', p_x, v_i), p_level + 1, p_refs));
  END LOOP;
  IF p_schema -> 'items' = 'false'::jsonb THEN
    v_typed := v_typed || pg_catalog.format('pg_catalog.jsonb_array_length(%s) <= %s', p_x, v_prefix);
  ELSIF p_schema ? 'items' AND p_schema -> 'items' NOT IN ('true'::jsonb, '{}'::jsonb) THEN
    v_typed := v_typed || pg_catalog.format(
      'NOT EXISTS (SELECT 1 FROM pg_catalog.jsonb_array_elements(%s) WITH ORDINALITY AS %s (v, n) WHERE %s.n > %s AND NOT %s)',
      p_x, v_e, v_e, v_prefix,
      app_jobs._schema_sql(p_root, p_schema -> 'items', v_e || '.v', p_level + 1, p_refs));
  END IF;
  IF pg_catalog.cardinality(v_typed) > 0 THEN
    v_parts := v_parts || pg_catalog.format('CASE WHEN %s = ''array'' THEN %s ELSE true END', v_t,
                                            pg_catalog.array_to_string(v_typed, ' AND '));
  END IF;

  -- object
  v_typed := '{}'::text[];
  IF pg_catalog.jsonb_array_length(p_schema -> 'required') > 0 THEN
    v_typed := v_typed || pg_catalog.format('%s ?& %L::text[]', p_x,
                 ARRAY(SELECT pg_catalog.jsonb_array_elements_text(p_schema -> 'required')));
  END IF;
  IF p_schema ? 'minProperties' THEN
    v_typed := v_typed || pg_catalog.format('(SELECT pg_catalog.count(*) FROM pg_catalog.jsonb_object_keys(%s)) >= %s', p_x, (p_schema ->> 'minProperties')::integer);
  END IF;
  IF p_schema ? 'maxProperties' THEN
    v_typed := v_typed || pg_catalog.format('(SELECT pg_catalog.count(*) FROM pg_catalog.jsonb_object_keys(%s)) <= %s', p_x, (p_schema ->> 'maxProperties')::integer);
  END IF;
  FOR v_key, v_sub IN SELECT e.key, e.value FROM pg_catalog.jsonb_each(p_schema -> 'properties') AS e
                       WHERE e.value NOT IN ('true'::jsonb, '{}'::jsonb) ORDER BY e.key LOOP
    v_typed := v_typed || pg_catalog.format('(NOT %s ? %L OR %s)', p_x, v_key,
                 app_jobs._schema_sql(p_root, v_sub, pg_catalog.format('(%s -> %L)', p_x, v_key),
                                      p_level + 1, p_refs));
  END LOOP;
  IF p_schema ? 'additionalProperties' AND p_schema -> 'additionalProperties' NOT IN ('true'::jsonb, '{}'::jsonb) THEN
    v_typed := v_typed || pg_catalog.format(
      'NOT EXISTS (SELECT 1 FROM pg_catalog.jsonb_each(%s) AS %s WHERE %s.key <> ALL (%L::text[]) AND NOT %s)',
      p_x, v_e, v_e,
      ARRAY(SELECT pg_catalog.jsonb_object_keys(coalesce(p_schema -> 'properties', '{}'::jsonb))),
      app_jobs._schema_sql(p_root, p_schema -> 'additionalProperties', v_e || '.value', p_level + 1, p_refs));
  END IF;
  IF pg_catalog.cardinality(v_typed) > 0 THEN
    v_parts := v_parts || pg_catalog.format('CASE WHEN %s = ''object'' THEN %s ELSE true END', v_t,
                                            pg_catalog.array_to_string(v_typed, ' AND '));
  END IF;

  IF p_schema ? 'allOf' THEN
    FOR v_sub IN SELECT e FROM pg_catalog.jsonb_array_elements(p_schema -> 'allOf') AS e LOOP
      v_parts := v_parts || app_jobs._schema_sql(p_root, v_sub, p_x, p_level, p_refs);
    END LOOP;
  END IF;
  IF p_schema ? 'anyOf' THEN
    v_alts := ARRAY(SELECT app_jobs._schema_sql(p_root, e, p_x, p_level, p_refs)
                      FROM pg_catalog.jsonb_array_elements(p_schema -> 'anyOf') AS e);
    v_parts := v_parts || ('(' || pg_catalog.array_to_string(v_alts, ' OR ') || ')');
  END IF;
  IF p_schema ? 'oneOf' THEN
    v_alts := ARRAY(SELECT pg_catalog.format('(%s)::integer', app_jobs._schema_sql(p_root, e, p_x, p_level, p_refs))
                      FROM pg_catalog.jsonb_array_elements(p_schema -> 'oneOf') AS e);
    v_parts := v_parts || ('(' || pg_catalog.array_to_string(v_alts, ' + ') || ' = 1)');
  END IF;
  IF p_schema ? 'not' THEN
    v_parts := v_parts || ('NOT ' || app_jobs._schema_sql(p_root, p_schema -> 'not', p_x, p_level, p_refs));
  END IF;

  v_out := CASE pg_catalog.cardinality(v_parts)
             WHEN 0 THEN 'true'
             ELSE '(' || pg_catalog.array_to_string(v_parts, ' AND ') || ')' END;
  IF pg_catalog.length(v_out) > 1000000 THEN
    RAISE EXCEPTION USING
      ERRCODE = 'PJ191',
      MESSAGE = 'payload schema: too large once its $refs are expanded (the check would be over 1,000,000 characters)',
      DETAIL = 'A definition used many times, or inside nested allOf/anyOf/oneOf, is copied at each use.',
      HINT = 'Simplify the schema.';
  END IF;
  RETURN v_out;
END;
$$;

REVOKE ALL ON FUNCTION app_jobs._schema_sql(jsonb, jsonb, text, integer, text[]) FROM PUBLIC;

COMMENT ON FUNCTION app_jobs._schema_sql(jsonb, jsonb, text, integer, text[]) IS
  'Internal: p_schema (a subschema of p_root) compiled into a boolean SQL expression over the jsonb expression p_x, true exactly when _schema_error finds nothing; raises PJ191 for a $ref cycle that does not descend or an expansion over 1,000,000 characters.';

COMMIT;
