-- Deploy pgjobs:functions/_parse_rule_field to pg
-- requires: functions/_parse_rule_field@v0.3.0
-- One field of a rule object (node-schedule's RecurrenceRule: {"hour": [2], "minute": [0]})
-- to the sorted set of values it allows: null or absent allows every value (the caller
-- decides defaults), a number allows that value, an array allows its numbers and its ranges
-- {"start": a, "end": b, "step": n} (node-schedule's Range; a range alone works too).
-- Raises PJ111 naming the field on anything else, PJ113 on an empty set.
-- 0.4.0: a whole number written with a fraction or an exponent (2.0, 2e1: Python's
-- json.dumps(2.0) writes 2.0) is that number; it used to fail with 22P02.

BEGIN;

CREATE OR REPLACE FUNCTION app_jobs._parse_rule_field(value jsonb, what text, lo integer, hi integer)
RETURNS smallint[]
LANGUAGE plpgsql
IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v_item jsonb;
  v_from integer;
  v_to integer;
  v_step integer;
  v_values integer[] := '{}'::integer[];
  v_bad text;
BEGIN
  IF value IS NULL OR pg_catalog.jsonb_typeof(value) = 'null' THEN
    RETURN ARRAY(SELECT v::smallint FROM pg_catalog.generate_series(lo, hi) AS v);
  END IF;
  FOR v_item IN
    SELECT e FROM pg_catalog.jsonb_array_elements(
      CASE WHEN pg_catalog.jsonb_typeof(value) = 'array' THEN value
           ELSE pg_catalog.jsonb_build_array(value) END) AS e
  LOOP
    IF pg_catalog.jsonb_typeof(v_item) = 'number' THEN
      v_from := NULL;
      IF (v_item::text)::numeric = pg_catalog.trunc((v_item::text)::numeric)
         AND pg_catalog.abs((v_item::text)::numeric) < 100000 THEN
        v_from := (v_item::text)::numeric::integer;
      END IF;
      v_to := v_from;
      v_step := 1;
    ELSIF pg_catalog.jsonb_typeof(v_item) = 'object'
          AND pg_catalog.jsonb_typeof(v_item -> 'start') = 'number'
          AND pg_catalog.jsonb_typeof(v_item -> 'end') = 'number'
          AND coalesce(pg_catalog.jsonb_typeof(v_item -> 'step'), 'number') = 'number'
          AND NOT v_item ?| ARRAY(SELECT k FROM pg_catalog.jsonb_object_keys(v_item) AS k
                                   WHERE k NOT IN ('start', 'end', 'step')) THEN
      v_from := NULL;
      IF (SELECT pg_catalog.bool_and(n = pg_catalog.trunc(n) AND pg_catalog.abs(n) < 100000)
            FROM (SELECT (v_item ->> k)::numeric AS n
                    FROM pg_catalog.unnest(ARRAY['start', 'end', 'step']) AS k
                   WHERE v_item ? k) AS x) THEN
        v_from := (v_item ->> 'start')::numeric::integer;
        v_to := (v_item ->> 'end')::numeric::integer;
        v_step := coalesce((v_item ->> 'step')::numeric::integer, 1);
      END IF;
    ELSE
      v_from := NULL;
    END IF;
    IF v_from IS NULL OR v_from < lo OR v_to > hi OR v_from > v_to OR v_step < 1 THEN
      v_bad := v_item::text;
      RAISE EXCEPTION USING
        ERRCODE = 'PJ111',
        MESSAGE = pg_catalog.format('schedule: %s is not a valid "%s" (whole numbers from %s to %s)', v_bad, what, lo, hi),
        HINT = pg_catalog.format('Give "%s" as a number, an array of numbers, or ranges {"start": a, "end": b, "step": n}, from %s to %s.', what, lo, hi);
    END IF;
    FOR v IN v_from .. v_to BY v_step LOOP
      v_values := v_values || v;
    END LOOP;
  END LOOP;
  IF v_values = '{}' THEN
    RAISE EXCEPTION USING
      ERRCODE = 'PJ113',
      MESSAGE = pg_catalog.format('schedule: "%s" allows no value, so the schedule never fires', what),
      HINT = pg_catalog.format('Give at least one value for "%s", or leave it out to allow every value.', what);
  END IF;
  RETURN ARRAY(SELECT DISTINCT v::smallint FROM pg_catalog.unnest(v_values) AS v ORDER BY 1);
END;
$$;

REVOKE ALL ON FUNCTION app_jobs._parse_rule_field(jsonb, text, integer, integer) FROM PUBLIC;

COMMENT ON FUNCTION app_jobs._parse_rule_field(jsonb, text, integer, integer) IS
  'Internal: the sorted values one field of a rule object allows (null: all of lo..hi). Raises PJ111 on a bad value, PJ113 on an empty set.';

COMMIT;
