-- Deploy pgjobs:functions/_check_payload_schema to pg
-- requires: functions/_schema_sql
-- A payload schema (a JSON Schema, 2020-12 keywords) is checked once, when it is registered
-- (set_task_settings, declare_task_settings): every keyword must be one pgjobs checks or an
-- annotation, so a schema never means more than what is enforced. Refused with PJ191, naming
-- the keyword and its place in the schema (a JSON Pointer):
--   an unsupported keyword (patternProperties, if/then/else, contains, $id, a nested $defs,
--   ...), a keyword with a value of the wrong kind, a pattern PostgreSQL cannot compile, a
--   $ref other than '#' or '#/$defs/<name>' or to a definition that does not exist;
--   over the bounds: more than 64 KiB of JSON, subschemas nested more than 32 deep, a $ref
--   cycle that does not descend into the value, more than 1,000,000 characters of compiled
--   check (app_jobs._schema_sql).
-- Checked: type, enum, const, properties, required, additionalProperties, items, prefixItems,
-- minItems, maxItems, uniqueItems, minLength, maxLength, pattern, format, minimum, maximum,
-- exclusiveMinimum, exclusiveMaximum, multipleOf, minProperties, maxProperties, allOf, anyOf,
-- oneOf, not, $ref, $defs (at the top). Annotations: title, description, default, examples,
-- deprecated, readOnly, writeOnly, $comment, $schema, discriminator (oneOf does the checking).

BEGIN;

CREATE FUNCTION app_jobs._check_payload_schema(p_schema jsonb, p_caller text,
                                               p_root jsonb DEFAULT NULL, p_path text DEFAULT '',
                                               p_depth integer DEFAULT 0)
RETURNS void
LANGUAGE plpgsql
IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v_root constant jsonb := coalesce(p_root, p_schema);
  v_key text;
  v_value jsonb;
  v_kind text;
  v_problem text;
  v_sub jsonb;
  v_name text;
BEGIN
  IF p_root IS NULL THEN
    IF p_schema IS NULL THEN
      RETURN;
    ELSIF pg_catalog.octet_length(p_schema::text) > 65536 THEN
      v_problem := pg_catalog.format('it is %s bytes of JSON, over the limit of 65536', pg_catalog.octet_length(p_schema::text));
    END IF;
  END IF;
  IF v_problem IS NULL AND p_depth > 32 THEN
    v_problem := 'subschemas are nested more than 32 deep';
  END IF;
  IF v_problem IS NULL AND pg_catalog.jsonb_typeof(p_schema) NOT IN ('object', 'boolean') THEN
    v_problem := 'a schema must be a JSON object or true or false';
  END IF;
  IF v_problem IS NULL AND pg_catalog.jsonb_typeof(p_schema) = 'object' THEN
    FOR v_key, v_value IN SELECT e.key, e.value FROM pg_catalog.jsonb_each(p_schema) AS e ORDER BY e.key LOOP
      v_kind := pg_catalog.jsonb_typeof(v_value);
      v_problem := CASE
        WHEN v_key IN ('title', 'description', 'default', 'examples', 'deprecated', 'readOnly',
                       'writeOnly', '$comment', '$schema', 'discriminator', 'const') THEN NULL
        WHEN v_key = 'type' THEN
          CASE WHEN NOT (v_kind = 'string' AND v_value #>> '{}' IN ('null', 'boolean', 'object', 'array', 'number', 'string', 'integer')
                         OR v_kind = 'array' AND pg_catalog.jsonb_array_length(v_value) > 0
                            AND NOT EXISTS (SELECT 1 FROM pg_catalog.jsonb_array_elements(v_value) AS t
                                             WHERE pg_catalog.jsonb_typeof(t) <> 'string'
                                                OR t #>> '{}' NOT IN ('null', 'boolean', 'object', 'array', 'number', 'string', 'integer'))
                            AND (SELECT pg_catalog.count(DISTINCT t) = pg_catalog.count(*) FROM pg_catalog.jsonb_array_elements(v_value) AS t))
               THEN 'type must be one of null, boolean, object, array, number, string, integer, or a non-empty array of distinct ones' END
        WHEN v_key = 'enum' THEN
          CASE WHEN v_kind <> 'array' OR pg_catalog.jsonb_array_length(v_value) = 0 THEN 'enum must be a non-empty array' END
        WHEN v_key = 'required' THEN
          CASE WHEN v_kind <> 'array'
                    OR EXISTS (SELECT 1 FROM pg_catalog.jsonb_array_elements(v_value) AS t WHERE pg_catalog.jsonb_typeof(t) <> 'string')
                    OR (SELECT pg_catalog.count(DISTINCT t) <> pg_catalog.count(*) FROM pg_catalog.jsonb_array_elements(v_value) AS t)
               THEN 'required must be an array of distinct property names' END
        WHEN v_key IN ('properties', '$defs') THEN
          CASE WHEN v_kind <> 'object' THEN v_key || ' must be an object of schemas'
               WHEN v_key = '$defs' AND p_path <> '' THEN '$defs is only supported at the top of the schema' END
        WHEN v_key IN ('additionalProperties', 'items', 'not') THEN NULL  -- a schema: checked below
        WHEN v_key IN ('prefixItems', 'allOf', 'anyOf', 'oneOf') THEN
          CASE WHEN v_kind <> 'array' OR pg_catalog.jsonb_array_length(v_value) = 0 THEN v_key || ' must be a non-empty array of schemas' END
        WHEN v_key IN ('minLength', 'maxLength', 'minItems', 'maxItems', 'minProperties', 'maxProperties') THEN
          CASE WHEN v_kind <> 'number' OR v_value::text !~ '^[0-9]{1,9}$' THEN v_key || ' must be a whole number from 0 to 999999999' END
        WHEN v_key IN ('minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum') THEN
          CASE WHEN v_kind <> 'number' THEN v_key || ' must be a number' END
        WHEN v_key = 'multipleOf' THEN
          CASE WHEN v_kind <> 'number' OR (v_value::text)::numeric <= 0 THEN 'multipleOf must be a number more than 0' END
        WHEN v_key = 'uniqueItems' THEN
          CASE WHEN v_kind <> 'boolean' THEN 'uniqueItems must be true or false' END
        WHEN v_key = 'format' THEN
          CASE WHEN v_kind <> 'string' THEN 'format must be a string' END
        WHEN v_key = 'pattern' THEN
          CASE WHEN v_kind <> 'string' THEN 'pattern must be a string' END
        WHEN v_key = '$ref' THEN
          CASE WHEN v_kind <> 'string' THEN '$ref must be a string'
               WHEN v_value #>> '{}' = '#' THEN NULL
               WHEN v_value #>> '{}' !~ '^#/\$defs/[^/~%]+$' THEN '$ref must be ''#'' or ''#/$defs/<name>'' (references within the schema only)'
               WHEN NOT coalesce(v_root -> '$defs' ? pg_catalog.substr(v_value #>> '{}', 9), false)
                 THEN pg_catalog.format('$ref %s: there is no such definition under $defs', v_value #>> '{}') END
        ELSE pg_catalog.format('unsupported keyword %s', pg_catalog.quote_ident(v_key))
      END;
      IF v_problem IS NULL AND v_key = 'pattern' THEN
        BEGIN
          PERFORM '' ~ (v_value #>> '{}');
        EXCEPTION WHEN invalid_regular_expression OR program_limit_exceeded THEN
          v_problem := pg_catalog.format('pattern %s is not a PostgreSQL regular expression: %s',
                                         pg_catalog.left(v_value::text, 200), SQLERRM);
        END;
      END IF;
      IF v_problem IS NOT NULL THEN
        p_path := p_path || '/' || pg_catalog.replace(pg_catalog.replace(v_key, '~', '~0'), '/', '~1');
        EXIT;
      END IF;
      -- The subschemas, depth first.
      IF v_key IN ('additionalProperties', 'items', 'not') THEN
        PERFORM app_jobs._check_payload_schema(v_value, p_caller, v_root, p_path || '/' || v_key, p_depth + 1);
      ELSIF v_key IN ('prefixItems', 'allOf', 'anyOf', 'oneOf') THEN
        FOR v_i IN 0 .. pg_catalog.jsonb_array_length(v_value) - 1 LOOP
          PERFORM app_jobs._check_payload_schema(v_value -> v_i, p_caller, v_root,
                                                 p_path || '/' || v_key || '/' || v_i, p_depth + 1);
        END LOOP;
      ELSIF v_key IN ('properties', '$defs') THEN
        FOR v_name, v_sub IN SELECT e.key, e.value FROM pg_catalog.jsonb_each(v_value) AS e ORDER BY e.key LOOP
          PERFORM app_jobs._check_payload_schema(
            v_sub, p_caller, v_root,
            p_path || '/' || v_key || '/' || pg_catalog.replace(pg_catalog.replace(v_name, '~', '~0'), '/', '~1'),
            p_depth + 1);
        END LOOP;
      END IF;
    END LOOP;
  END IF;
  IF v_problem IS NOT NULL THEN
    RAISE EXCEPTION USING
      ERRCODE = 'PJ191',
      MESSAGE = pg_catalog.format('%s: payload schema refused at %s: %s', p_caller,
                                  coalesce(nullif(p_path, ''), '(the top)'), v_problem),
      DETAIL = 'Supported: type, enum, const, properties, required, additionalProperties, items, prefixItems, minItems, maxItems, uniqueItems, minLength, maxLength, pattern, format, minimum, maximum, exclusiveMinimum, exclusiveMaximum, multipleOf, minProperties, maxProperties, allOf, anyOf, oneOf, not, $ref (#/$defs/...), $defs; annotations: title, description, default, examples, deprecated, readOnly, writeOnly, $comment, $schema, discriminator.',
      HINT = 'Remove or rewrite that keyword: a payload schema is refused rather than partly enforced.';
  END IF;
  IF p_root IS NULL THEN
    -- $ref cycles and the size of the expanded check (raise PJ191 themselves).
    BEGIN
      PERFORM app_jobs._schema_sql(p_schema, p_schema, 'v');
    EXCEPTION WHEN SQLSTATE 'PJ191' THEN
      GET STACKED DIAGNOSTICS v_problem = MESSAGE_TEXT;
      RAISE EXCEPTION USING
        ERRCODE = 'PJ191',
        MESSAGE = p_caller || ': ' || v_problem,
        HINT = 'Remove the $ref cycle, or make the schema smaller.';
    END;
  END IF;
END;
$$;

REVOKE ALL ON FUNCTION app_jobs._check_payload_schema(jsonb, text, jsonb, text, integer) FROM PUBLIC;

COMMENT ON FUNCTION app_jobs._check_payload_schema(jsonb, text, jsonb, text, integer) IS
  'Internal: raises PJ191 (naming the place in the schema) for a payload schema pgjobs would not enforce in full: an unsupported keyword, a malformed one, a bad pattern or $ref, or over the bounds (64 KiB, 32 levels, a $ref cycle that does not descend, 1,000,000 characters of compiled check). p_caller names the call; the other arguments are for its recursion. NULL passes.';

COMMIT;
