-- Deploy pgjobs:functions/_schema_error to pg
-- requires: functions/_schema_format_pattern
-- The JSON Schema check, interpreted: the first place where p_value fails p_schema (a
-- subschema of p_root, the registered schema its $refs resolve against), as ARRAY[path,
-- keyword, message], or NULL when it holds. path is a JSON Pointer into the payload
-- ('/items/3/name'; '' is the payload itself). Keywords are checked in a fixed order, so the
-- answer is deterministic. Only schemas app_jobs._check_payload_schema accepted reach here:
-- every keyword is known and well formed, every $ref resolves, a $ref cycle descends into
-- the value before it comes back (so the recursion ends with the payload, at most 100 deep).
-- add_job (one payload) runs this; a bulk enqueue first runs the compiled form of the same
-- rules (app_jobs._schema_sql) over the whole batch, and this only for the element that fails,
-- to name the path.

BEGIN;

CREATE FUNCTION app_jobs._schema_error(p_root jsonb, p_schema jsonb, p_value jsonb,
                                       p_path text DEFAULT '')
RETURNS text[]
LANGUAGE plpgsql
IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v_type text;
  v_types jsonb;
  v_ok boolean;
  v_err text[];
  v_key text;
  v_sub jsonb;
  v_n integer;
  v_num numeric;
  v_str text;
  v_count integer;
BEGIN
  IF p_schema = 'true'::jsonb OR p_schema = '{}'::jsonb THEN
    RETURN NULL;
  ELSIF p_schema = 'false'::jsonb THEN
    RETURN ARRAY[p_path, 'false', 'no value is allowed here (the schema is false)'];
  END IF;
  v_type := pg_catalog.jsonb_typeof(p_value);

  IF p_schema ? '$ref' THEN
    v_sub := CASE WHEN p_schema ->> '$ref' = '#' THEN p_root
                  ELSE p_root -> '$defs' -> pg_catalog.substr(p_schema ->> '$ref', 9) END;
    v_err := app_jobs._schema_error(p_root, v_sub, p_value, p_path);
    IF v_err IS NOT NULL THEN RETURN v_err; END IF;
  END IF;

  IF p_schema ? 'type' THEN
    v_types := p_schema -> 'type';
    IF pg_catalog.jsonb_typeof(v_types) = 'string' THEN
      v_types := pg_catalog.jsonb_build_array(v_types);
    END IF;
    v_ok := v_types ? v_type
            OR (v_type = 'number' AND v_types ? 'integer'
                AND (p_value::text)::numeric = pg_catalog.trunc((p_value::text)::numeric));
    IF NOT v_ok THEN
      RETURN ARRAY[p_path, 'type', pg_catalog.format('expected %s, got %s',
                   pg_catalog.array_to_string(ARRAY(SELECT pg_catalog.jsonb_array_elements_text(v_types)), ' or '),
                   CASE WHEN v_type = 'number' AND (p_value::text)::numeric <> pg_catalog.trunc((p_value::text)::numeric)
                        THEN 'number (not an integer)' ELSE v_type END)];
    END IF;
  END IF;
  IF p_schema ? 'const' AND p_value <> p_schema -> 'const' THEN
    RETURN ARRAY[p_path, 'const', pg_catalog.format('must be %s', pg_catalog.left((p_schema -> 'const')::text, 100))];
  END IF;
  IF p_schema ? 'enum' AND NOT EXISTS (SELECT 1 FROM pg_catalog.jsonb_array_elements(p_schema -> 'enum') AS e
                                        WHERE e = p_value) THEN
    RETURN ARRAY[p_path, 'enum', pg_catalog.format('must be one of %s', pg_catalog.left((p_schema -> 'enum')::text, 200))];
  END IF;

  IF v_type = 'number' THEN
    v_num := (p_value::text)::numeric;
    IF (p_schema ->> 'minimum')::numeric > v_num THEN
      RETURN ARRAY[p_path, 'minimum', pg_catalog.format('%s is less than the minimum %s', v_num, p_schema ->> 'minimum')];
    ELSIF (p_schema ->> 'maximum')::numeric < v_num THEN
      RETURN ARRAY[p_path, 'maximum', pg_catalog.format('%s is more than the maximum %s', v_num, p_schema ->> 'maximum')];
    ELSIF (p_schema ->> 'exclusiveMinimum')::numeric >= v_num THEN
      RETURN ARRAY[p_path, 'exclusiveMinimum', pg_catalog.format('%s must be more than %s', v_num, p_schema ->> 'exclusiveMinimum')];
    ELSIF (p_schema ->> 'exclusiveMaximum')::numeric <= v_num THEN
      RETURN ARRAY[p_path, 'exclusiveMaximum', pg_catalog.format('%s must be less than %s', v_num, p_schema ->> 'exclusiveMaximum')];
    ELSIF v_num % (p_schema ->> 'multipleOf')::numeric <> 0 THEN
      RETURN ARRAY[p_path, 'multipleOf', pg_catalog.format('%s is not a multiple of %s', v_num, p_schema ->> 'multipleOf')];
    END IF;
  ELSIF v_type = 'string' THEN
    v_str := p_value #>> '{}';
    IF pg_catalog.length(v_str) < (p_schema ->> 'minLength')::integer THEN
      RETURN ARRAY[p_path, 'minLength', pg_catalog.format('is %s characters long, under the minimum %s', pg_catalog.length(v_str), p_schema ->> 'minLength')];
    ELSIF pg_catalog.length(v_str) > (p_schema ->> 'maxLength')::integer THEN
      RETURN ARRAY[p_path, 'maxLength', pg_catalog.format('is %s characters long, over the maximum %s', pg_catalog.length(v_str), p_schema ->> 'maxLength')];
    ELSIF v_str !~ (p_schema ->> 'pattern') THEN
      RETURN ARRAY[p_path, 'pattern', pg_catalog.format('does not match the pattern %s', pg_catalog.left(p_schema ->> 'pattern', 200))];
    END IF;
    IF p_schema ? 'format' AND v_str !~ app_jobs._schema_format_pattern(p_schema ->> 'format') THEN
      RETURN ARRAY[p_path, 'format', pg_catalog.format('is not a valid %s', p_schema ->> 'format')];
    END IF;
  ELSIF v_type = 'array' THEN
    v_n := pg_catalog.jsonb_array_length(p_value);
    IF v_n < (p_schema ->> 'minItems')::integer THEN
      RETURN ARRAY[p_path, 'minItems', pg_catalog.format('has %s items, under the minimum %s', v_n, p_schema ->> 'minItems')];
    ELSIF v_n > (p_schema ->> 'maxItems')::integer THEN
      RETURN ARRAY[p_path, 'maxItems', pg_catalog.format('has %s items, over the maximum %s', v_n, p_schema ->> 'maxItems')];
    END IF;
    IF p_schema -> 'uniqueItems' = 'true'::jsonb THEN
      SELECT pg_catalog.count(DISTINCT e)::integer INTO v_count FROM pg_catalog.jsonb_array_elements(p_value) AS e;
      IF v_count < v_n THEN
        RETURN ARRAY[p_path, 'uniqueItems', 'has repeated items'];
      END IF;
    END IF;
    v_count := coalesce(pg_catalog.jsonb_array_length(p_schema -> 'prefixItems'), 0);
    FOR v_i IN 0 .. least(v_count, v_n) - 1 LOOP
      v_err := app_jobs._schema_error(p_root, p_schema -> 'prefixItems' -> v_i, p_value -> v_i,
                                      p_path || '/' || v_i);
      IF v_err IS NOT NULL THEN RETURN v_err; END IF;
    END LOOP;
    IF p_schema ? 'items' THEN
      IF p_schema -> 'items' = 'false'::jsonb THEN
        IF v_n > v_count THEN
          RETURN ARRAY[p_path, 'items', pg_catalog.format('has %s items, at most %s are allowed', v_n, v_count)];
        END IF;
      ELSE
        FOR v_i IN v_count .. v_n - 1 LOOP
          v_err := app_jobs._schema_error(p_root, p_schema -> 'items', p_value -> v_i, p_path || '/' || v_i);
          IF v_err IS NOT NULL THEN RETURN v_err; END IF;
        END LOOP;
      END IF;
    END IF;
  ELSIF v_type = 'object' THEN
    IF p_schema ? 'required' THEN
      SELECT r INTO v_key FROM pg_catalog.jsonb_array_elements_text(p_schema -> 'required') AS r
       WHERE NOT p_value ? r LIMIT 1;
      IF FOUND THEN
        RETURN ARRAY[p_path, 'required', pg_catalog.format('property %s is missing', pg_catalog.quote_literal(v_key))];
      END IF;
    END IF;
    IF p_schema ? 'minProperties' OR p_schema ? 'maxProperties' THEN
      SELECT pg_catalog.count(*)::integer INTO v_count FROM pg_catalog.jsonb_object_keys(p_value);
      IF v_count < (p_schema ->> 'minProperties')::integer THEN
        RETURN ARRAY[p_path, 'minProperties', pg_catalog.format('has %s properties, under the minimum %s', v_count, p_schema ->> 'minProperties')];
      ELSIF v_count > (p_schema ->> 'maxProperties')::integer THEN
        RETURN ARRAY[p_path, 'maxProperties', pg_catalog.format('has %s properties, over the maximum %s', v_count, p_schema ->> 'maxProperties')];
      END IF;
    END IF;
    IF p_schema ? 'properties' THEN
      FOR v_key, v_sub IN SELECT e.key, e.value FROM pg_catalog.jsonb_each(p_schema -> 'properties') AS e
                           WHERE p_value ? e.key ORDER BY e.key LOOP
        v_err := app_jobs._schema_error(p_root, v_sub, p_value -> v_key,
                                        p_path || '/' || pg_catalog.replace(pg_catalog.replace(v_key, '~', '~0'), '/', '~1'));
        IF v_err IS NOT NULL THEN RETURN v_err; END IF;
      END LOOP;
    END IF;
    IF p_schema ? 'additionalProperties' THEN
      FOR v_key IN SELECT k FROM pg_catalog.jsonb_object_keys(p_value) AS k
                    WHERE NOT coalesce(p_schema -> 'properties' ? k, false) ORDER BY k LOOP
        IF p_schema -> 'additionalProperties' = 'false'::jsonb THEN
          RETURN ARRAY[p_path, 'additionalProperties', pg_catalog.format('property %s is not allowed', pg_catalog.quote_literal(v_key))];
        END IF;
        v_err := app_jobs._schema_error(p_root, p_schema -> 'additionalProperties', p_value -> v_key,
                                        p_path || '/' || pg_catalog.replace(pg_catalog.replace(v_key, '~', '~0'), '/', '~1'));
        IF v_err IS NOT NULL THEN RETURN v_err; END IF;
      END LOOP;
    END IF;
  END IF;

  IF p_schema ? 'allOf' THEN
    FOR v_sub IN SELECT e FROM pg_catalog.jsonb_array_elements(p_schema -> 'allOf') AS e LOOP
      v_err := app_jobs._schema_error(p_root, v_sub, p_value, p_path);
      IF v_err IS NOT NULL THEN RETURN v_err; END IF;
    END LOOP;
  END IF;
  IF p_schema ? 'anyOf' THEN
    v_ok := false;
    FOR v_sub IN SELECT e FROM pg_catalog.jsonb_array_elements(p_schema -> 'anyOf') AS e LOOP
      IF app_jobs._schema_error(p_root, v_sub, p_value, p_path) IS NULL THEN
        v_ok := true;
        EXIT;
      END IF;
    END LOOP;
    IF NOT v_ok THEN
      RETURN ARRAY[p_path, 'anyOf', 'matches none of the anyOf alternatives'];
    END IF;
  END IF;
  IF p_schema ? 'oneOf' THEN
    v_count := 0;
    FOR v_sub IN SELECT e FROM pg_catalog.jsonb_array_elements(p_schema -> 'oneOf') AS e LOOP
      IF app_jobs._schema_error(p_root, v_sub, p_value, p_path) IS NULL THEN
        v_count := v_count + 1;
        EXIT WHEN v_count > 1;
      END IF;
    END LOOP;
    IF v_count <> 1 THEN
      RETURN ARRAY[p_path, 'oneOf', CASE WHEN v_count = 0 THEN 'matches none of the oneOf alternatives'
                                         ELSE 'matches more than one of the oneOf alternatives' END];
    END IF;
  END IF;
  IF p_schema ? 'not' AND app_jobs._schema_error(p_root, p_schema -> 'not', p_value, p_path) IS NULL THEN
    RETURN ARRAY[p_path, 'not', 'matches the schema under not'];
  END IF;
  RETURN NULL;
END;
$$;

REVOKE ALL ON FUNCTION app_jobs._schema_error(jsonb, jsonb, jsonb, text) FROM PUBLIC;

COMMENT ON FUNCTION app_jobs._schema_error(jsonb, jsonb, jsonb, text) IS
  'Internal: where p_value first fails p_schema (a subschema of the registered schema p_root) as ARRAY[JSON Pointer path, keyword, message], or NULL when it holds. Only for schemas _check_payload_schema accepted.';

COMMIT;
