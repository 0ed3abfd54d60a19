-- Deploy pgjobs:functions/_tz_transition to pg
-- requires: schema
-- The first instant after `lo` (whole seconds, up to `hi`) at which zone tz's UTC offset
-- differs from its offset at `lo`: the moment clocks were changed. PostgreSQL exposes no
-- list of transitions, so this walks from lo in steps of a week until the offset differs
-- (transitions are months apart), then bisects that week. The caller guarantees that the
-- offset at hi differs from the offset at lo.

BEGIN;

CREATE FUNCTION app_jobs._tz_transition(tz text, lo timestamptz, hi timestamptz)
RETURNS timestamptz
LANGUAGE plpgsql
STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v_lo bigint := pg_catalog.floor(pg_catalog.date_part('epoch', lo))::bigint;
  v_hi bigint := pg_catalog.ceil(pg_catalog.date_part('epoch', hi))::bigint;
  v_offset interval := (lo AT TIME ZONE tz) - (lo AT TIME ZONE 'UTC');
  v_mid bigint;
  v_at timestamptz;
BEGIN
  -- Narrow hi to the first week boundary after lo where the offset has changed.
  v_mid := v_lo + 604800;
  WHILE v_mid < v_hi LOOP
    v_at := pg_catalog.to_timestamp(v_mid);
    EXIT WHEN (v_at AT TIME ZONE tz) - (v_at AT TIME ZONE 'UTC') <> v_offset;
    v_lo := v_mid;
    v_mid := v_mid + 604800;
  END LOOP;
  v_hi := least(v_hi, v_mid);
  WHILE v_hi - v_lo > 1 LOOP
    v_mid := (v_lo + v_hi) / 2;
    v_at := pg_catalog.to_timestamp(v_mid);
    IF (v_at AT TIME ZONE tz) - (v_at AT TIME ZONE 'UTC') = v_offset THEN
      v_lo := v_mid;
    ELSE
      v_hi := v_mid;
    END IF;
  END LOOP;
  RETURN pg_catalog.to_timestamp(v_hi);
END;
$$;

REVOKE ALL ON FUNCTION app_jobs._tz_transition(text, timestamptz, timestamptz) FROM PUBLIC;

COMMENT ON FUNCTION app_jobs._tz_transition(text, timestamptz, timestamptz) IS
  'Internal: the first whole second after lo (at most hi) at which zone tz''s UTC offset differs from its offset at lo.';

COMMIT;
