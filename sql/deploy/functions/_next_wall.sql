-- Deploy pgjobs:functions/_next_wall to pg
-- requires: types/schedule_spec
-- The first wall-clock time (a timestamp without zone, whole seconds) after `after` that a
-- spec allows, ignoring its zone and window. Field by field, as a clock would be advanced
-- by hand: a year, month, day, hour, minute or second that is not allowed jumps to the next
-- allowed value of that field and resets the smaller ones. Integer arithmetic only; the
-- sets are sorted, so each "next allowed" is a short scan. NULL when nothing comes before
-- the year 10000.

BEGIN;

CREATE FUNCTION app_jobs._next_wall(spec app_jobs.schedule_spec, after timestamp)
RETURNS timestamp
LANGUAGE plpgsql
IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v_t timestamp := pg_catalog.date_trunc('second', after) + interval '1 second';
  y integer := pg_catalog.date_part('year', v_t)::integer;
  mo integer := pg_catalog.date_part('month', v_t)::integer;
  d integer := pg_catalog.date_part('day', v_t)::integer;
  h integer := pg_catalog.date_part('hour', v_t)::integer;
  mi integer := pg_catalog.date_part('minute', v_t)::integer;
  s integer := pg_catalog.date_part('second', v_t)::integer;
  v integer;
  x smallint;
  v_dim integer;
  v_dow integer;
  v_days_only boolean := NOT spec.day_or AND pg_catalog.cardinality(spec.weekdays) = 7;
  n integer := 0;
BEGIN
  IF after IS NULL OR NOT pg_catalog.isfinite(after) THEN
    RETURN NULL;
  END IF;
  LOOP
    n := n + 1;
    IF y > 9999 OR n > 100000 THEN
      RETURN NULL;
    END IF;
    IF spec.years IS NOT NULL AND NOT y = ANY (spec.years) THEN
      v := NULL;
      FOREACH x IN ARRAY spec.years LOOP
        IF x > y THEN v := x::integer; EXIT; END IF;
      END LOOP;
      IF v IS NULL THEN
        RETURN NULL;
      END IF;
      y := v; mo := 1; d := 1; h := 0; mi := 0; s := 0;
    END IF;
    IF NOT mo = ANY (spec.months) THEN
      v := NULL;
      FOREACH x IN ARRAY spec.months LOOP
        IF x > mo THEN v := x::integer; EXIT; END IF;
      END LOOP;
      d := 1; h := 0; mi := 0; s := 0;
      IF v IS NULL THEN
        y := y + 1; mo := 1;
        CONTINUE;
      END IF;
      mo := v;
    END IF;
    v_dim := CASE WHEN mo = 2 THEN CASE WHEN (y % 4 = 0 AND y % 100 <> 0) OR y % 400 = 0 THEN 29 ELSE 28 END
                  WHEN mo IN (4, 6, 9, 11) THEN 30
                  ELSE 31 END;
    IF d <= v_dim THEN
      v_dow := pg_catalog.date_part('dow', pg_catalog.make_date(y, mo, d))::integer;
    END IF;
    IF d > v_dim
       OR NOT (CASE WHEN spec.day_or THEN d = ANY (spec.days) OR v_dow = ANY (spec.weekdays)
                    ELSE d = ANY (spec.days) AND v_dow = ANY (spec.weekdays) END) THEN
      IF v_days_only AND d <= v_dim THEN
        v := NULL;
        FOREACH x IN ARRAY spec.days LOOP
          IF x > d THEN v := x::integer; EXIT; END IF;
        END LOOP;
        d := coalesce(v, 32);
      ELSE
        d := d + 1;
      END IF;
      h := 0; mi := 0; s := 0;
      IF d > v_dim THEN
        d := 1; mo := mo + 1;
        IF mo > 12 THEN y := y + 1; mo := 1; END IF;
      END IF;
      CONTINUE;
    END IF;
    IF NOT h = ANY (spec.hours) THEN
      v := NULL;
      FOREACH x IN ARRAY spec.hours LOOP
        IF x > h THEN v := x::integer; EXIT; END IF;
      END LOOP;
      mi := 0; s := 0;
      IF v IS NULL THEN
        h := 0; d := d + 1;
        IF d > v_dim THEN d := 1; mo := mo + 1; IF mo > 12 THEN y := y + 1; mo := 1; END IF; END IF;
        CONTINUE;
      END IF;
      h := v;
    END IF;
    IF NOT mi = ANY (spec.minutes) THEN
      v := NULL;
      FOREACH x IN ARRAY spec.minutes LOOP
        IF x > mi THEN v := x::integer; EXIT; END IF;
      END LOOP;
      s := 0;
      IF v IS NULL THEN
        mi := 0; h := h + 1;
        IF h > 23 THEN
          h := 0; d := d + 1;
          IF d > v_dim THEN d := 1; mo := mo + 1; IF mo > 12 THEN y := y + 1; mo := 1; END IF; END IF;
        END IF;
        CONTINUE;
      END IF;
      mi := v;
    END IF;
    IF NOT s = ANY (spec.seconds) THEN
      v := NULL;
      FOREACH x IN ARRAY spec.seconds LOOP
        IF x > s THEN v := x::integer; EXIT; END IF;
      END LOOP;
      IF v IS NULL THEN
        s := 0; mi := mi + 1;
        IF mi > 59 THEN
          mi := 0; h := h + 1;
          IF h > 23 THEN
            h := 0; d := d + 1;
            IF d > v_dim THEN d := 1; mo := mo + 1; IF mo > 12 THEN y := y + 1; mo := 1; END IF; END IF;
          END IF;
        END IF;
        CONTINUE;
      END IF;
      s := v;
    END IF;
    RETURN pg_catalog.make_timestamp(y, mo, d, h, mi, s);
  END LOOP;
END;
$$;

REVOKE ALL ON FUNCTION app_jobs._next_wall(app_jobs.schedule_spec, timestamp) FROM PUBLIC;

COMMENT ON FUNCTION app_jobs._next_wall(app_jobs.schedule_spec, timestamp) IS
  'Internal: the first wall-clock time (whole seconds) after `after` that the fields of spec allow, ignoring its zone and window; NULL if none before the year 10000.';

COMMIT;
