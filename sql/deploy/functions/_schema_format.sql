-- Deploy pgjobs:functions/_schema_format to pg
-- requires: schema
-- The JSON Schema formats a payload schema checks (any other format value is an annotation,
-- as JSON Schema 2020-12 has it by default):
--   date       YYYY-MM-DD, a real day (year 0001 to 9999);
--   date-time  a date, T (or t, or a space), HH:MM, optional :SS and fraction, optional
--              offset (Z or +HH:MM): an offset is not required, since pydantic writes a naive
--              datetime without one (RFC 3339 requires it);
--   time       HH:MM, optional :SS and fraction, optional offset;
--   uuid       8-4-4-4-12 hexadecimal digits with hyphens;
--   email      one @ with text on each side, no spaces (a plausibility check, not RFC 5321).

BEGIN;

CREATE FUNCTION app_jobs._schema_format(p_format text, p_value text)
RETURNS boolean
LANGUAGE sql
IMMUTABLE
PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
  SELECT CASE p_format
    WHEN 'date' THEN
      CASE WHEN p_value ~ '^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$'
                AND pg_catalog.substr(p_value, 1, 4) <> '0000'
           THEN pg_catalog.substr(p_value, 9, 2)::integer
                <= pg_catalog.date_part('day', pg_catalog.make_date(pg_catalog.substr(p_value, 1, 4)::integer,
                                                                    pg_catalog.substr(p_value, 6, 2)::integer, 1)
                                               + interval '1 month - 1 day')
           ELSE false END
    WHEN 'date-time' THEN
      p_value ~ '^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])[Tt ]([01][0-9]|2[0-3]):[0-5][0-9](:([0-5][0-9]|60)(\.[0-9]+)?)?([Zz]|[-+]([01][0-9]|2[0-3]):[0-5][0-9])?$'
      AND app_jobs._schema_format('date', pg_catalog.substr(p_value, 1, 10))
    WHEN 'time' THEN
      p_value ~ '^([01][0-9]|2[0-3]):[0-5][0-9](:([0-5][0-9]|60)(\.[0-9]+)?)?([Zz]|[-+]([01][0-9]|2[0-3]):[0-5][0-9])?$'
    WHEN 'uuid' THEN
      p_value ~ '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$'
    WHEN 'email' THEN
      p_value ~ '^[^@[:space:]]+@[^@[:space:]]+$'
    ELSE true
  END;
$$;

REVOKE ALL ON FUNCTION app_jobs._schema_format(text, text) FROM PUBLIC;

COMMENT ON FUNCTION app_jobs._schema_format(text, text) IS
  'Internal: whether p_value is a valid p_format (date, date-time, time, uuid, email; any other format is an annotation: true).';

COMMIT;
