-- Deploy pgjobs:functions/_parse_cron_field to pg
-- requires: schema
-- One field of a cron expression to the sorted set of values it allows. A field is a list
-- (a,b,...) of: * (or ?), a value, a range a-b, each optionally stepped (/n); a/n means a to
-- the field's maximum by n (Saturday, 6, for day of week). Values may be names (JAN-DEC, SUN-SAT, any case). Day of week
-- accepts 7 as Sunday, stored as 0. Raises PJ111 naming the field on anything else.

BEGIN;

CREATE FUNCTION app_jobs._parse_cron_field(field text, what text, lo integer, hi integer,
                                           names text[] DEFAULT NULL)
RETURNS smallint[]
LANGUAGE plpgsql
IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v_part text;
  v_match text[];
  v_bounds text[];
  v_from integer;
  v_to integer;
  v_step integer;
  v_value integer;
  v_word text;
  v_values integer[] := '{}'::integer[];
BEGIN
  FOREACH v_part IN ARRAY pg_catalog.string_to_array(field, ',') LOOP
    v_match := pg_catalog.regexp_match(v_part, '^(\*|\?|[0-9A-Za-z]+(?:-[0-9A-Za-z]+)?)(?:/([0-9]{1,4}))?$');
    IF v_match IS NULL THEN
      RAISE EXCEPTION USING
        ERRCODE = 'PJ111',
        MESSAGE = pg_catalog.format('schedule: cannot read %L in the %s field of the cron expression', v_part, what),
        HINT = 'Write a field as *, a value, a range a-b, a step */n or a-b/n, or a comma-separated list of these (e.g. 1-5,10); L, W and # are not supported.';
    END IF;
    v_step := coalesce(v_match[2]::integer, 1);
    IF v_step < 1 THEN
      RAISE EXCEPTION USING
        ERRCODE = 'PJ111',
        MESSAGE = pg_catalog.format('schedule: the step in %L (%s field) must be at least 1', v_part, what),
        HINT = 'Write e.g. */5 for every fifth value.';
    END IF;
    IF v_match[1] IN ('*', '?') THEN
      v_from := lo;
      v_to := CASE WHEN what = 'day-of-week' THEN 6 ELSE hi END;
    ELSE
      v_bounds := pg_catalog.string_to_array(v_match[1], '-');
      FOR i IN 1 .. pg_catalog.cardinality(v_bounds) LOOP
        v_word := v_bounds[i];
        IF v_word ~ '^[0-9]{1,4}$' THEN
          v_value := v_word::integer;
        ELSE
          v_value := lo - 1 + pg_catalog.array_position(names, pg_catalog.upper(v_word));
          IF v_value IS NULL THEN
            RAISE EXCEPTION USING
              ERRCODE = 'PJ111',
              MESSAGE = pg_catalog.format('schedule: %L is not a value of the %s field of the cron expression', v_word, what),
              HINT = CASE WHEN names IS NULL
                          THEN pg_catalog.format('The %s field takes numbers from %s to %s.', what, lo, hi)
                          ELSE pg_catalog.format('The %s field takes numbers from %s to %s or the names %s.',
                                                 what, lo, hi, pg_catalog.array_to_string(names, ' ')) END;
          END IF;
        END IF;
        IF v_value < lo OR v_value > hi THEN
          RAISE EXCEPTION USING
            ERRCODE = 'PJ111',
            MESSAGE = pg_catalog.format('schedule: %s is out of range in the %s field of the cron expression (%s to %s)',
                                        v_value, what, lo, hi),
            HINT = pg_catalog.format('Use values from %s to %s in the %s field.', lo, hi, what);
        END IF;
        IF i = 1 THEN v_from := v_value; ELSE v_to := v_value; END IF;
      END LOOP;
      IF pg_catalog.cardinality(v_bounds) = 1 THEN
        v_to := CASE WHEN v_match[2] IS NULL THEN v_from
                     WHEN what = 'day-of-week' THEN 6
                     ELSE hi END;
      END IF;
      IF v_from > v_to THEN
        RAISE EXCEPTION USING
          ERRCODE = 'PJ111',
          MESSAGE = pg_catalog.format('schedule: the range %L in the %s field of the cron expression runs backwards', v_part, what),
          HINT = 'Write a range low-high, or a list of two ranges (e.g. 22-23,0-2 instead of 22-2).';
      END IF;
    END IF;
    FOR v_value IN v_from .. v_to BY v_step LOOP
      v_values := v_values || CASE WHEN what = 'day-of-week' AND v_value = 7 THEN 0 ELSE v_value END;
    END LOOP;
  END LOOP;
  RETURN ARRAY(SELECT DISTINCT v::smallint FROM pg_catalog.unnest(v_values) AS v ORDER BY 1);
END;
$$;

REVOKE ALL ON FUNCTION app_jobs._parse_cron_field(text, text, integer, integer, text[]) FROM PUBLIC;

COMMENT ON FUNCTION app_jobs._parse_cron_field(text, text, integer, integer, text[]) IS
  'Internal: the sorted values one cron field allows (what names the field in errors; lo..hi its range; names[i] is the value lo + i - 1). Raises PJ111 on a field it cannot read.';

COMMIT;
