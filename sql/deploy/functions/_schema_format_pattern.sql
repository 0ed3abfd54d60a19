-- Deploy pgjobs:functions/_schema_format_pattern to pg
-- requires: schema
-- The JSON Schema formats a payload schema checks, each as one regular expression (so a bulk
-- enqueue's compiled check holds it inline, with no function call per value); any other
-- format value is an annotation (NULL here), as JSON Schema 2020-12 has it by default:
--   date       YYYY-MM-DD, a real day (year 0001 to 9999; 29 February in leap years only);
--   date-time  a date, T (or t, or a space), HH:MM, optional :SS and fraction, optional
--              offset (Z or +HH:MM): an offset is not required, since pydantic writes a naive
--              datetime without one (RFC 3339 requires it);
--   time       HH:MM, optional :SS and fraction, optional offset;
--   uuid       8-4-4-4-12 hexadecimal digits with hyphens;
--   email      one @ with text on each side, no spaces (a plausibility check, not RFC 5321).

BEGIN;

CREATE FUNCTION app_jobs._schema_format_pattern(p_format text)
RETURNS text
LANGUAGE sql
IMMUTABLE
PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
  SELECT CASE p_format
    WHEN 'date' THEN '^' || d.date || '$'
    WHEN 'date-time' THEN '^' || d.date || '[Tt ]' || d.time || '$'
    WHEN 'time' THEN '^' || d.time || '$'
    WHEN 'uuid' THEN '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$'
    WHEN 'email' THEN '^[^@[:space:]]+@[^@[:space:]]+$'
  END
  FROM (SELECT '((?!0000)[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|1[0-9]|2[0-8])'
               '|(?!0000)[0-9]{4}-(0[13-9]|1[0-2])-(29|30)'
               '|(?!0000)[0-9]{4}-(0[13578]|1[02])-31'
               '|(?!0000)([0-9]{2}(0[48]|[2468][048]|[13579][26])|([02468][048]|[13579][26])00)-02-29)'
               AS date,
               '([01][0-9]|2[0-3]):[0-5][0-9](:([0-5][0-9]|60)(\.[0-9]+)?)?([Zz]|[-+]([01][0-9]|2[0-3]):[0-5][0-9])?'
               AS time) AS d;
$$;

REVOKE ALL ON FUNCTION app_jobs._schema_format_pattern(text) FROM PUBLIC;

COMMENT ON FUNCTION app_jobs._schema_format_pattern(text) IS
  'Internal: the regular expression a string of JSON Schema format p_format must match (date, date-time, time, uuid, email); NULL for any other format (an annotation).';

COMMIT;
