-- Revert pgjobs:functions/_next_run from pg
-- Back to the 0.3.0 definition (deploy/functions/_next_run@v0.3.0.sql).
-- The first fire time of a parsed schedule strictly after `after`, or NULL when there is
-- none (past its end). Fire times are wall-clock times of the schedule's zone (UTC when it
-- has none), read with PostgreSQL's time zone data. Where clocks change:
--   * a schedule that runs at every hour of the day (hour field * / all 24 hours) follows the
--     clock: it fires at each instant the clock shows a matching time, so an hour the clock
--     skips has no runs and an hour the clock repeats has its runs twice (an hourly job keeps
--     running every 60 minutes through both changes);
--   * a schedule with chosen hours fires once per matching wall-clock time, at the first
--     instant the clock shows that time or a later one: a 02:30 job on a spring-forward
--     night (02:00 -> 03:00) runs at 03:00, a 01:30 job on a fall-back night (02:00 -> 01:00)
--     runs at the first 01:30 only.
-- The search works one stretch of constant UTC offset at a time: the next matching wall time
-- is turned into an instant with the current offset; if the offset there differs, a clock
-- change lies in between, found by app_jobs._tz_transition, and the search resumes from it.

BEGIN;

CREATE OR REPLACE FUNCTION app_jobs._next_run(spec app_jobs.schedule_spec, after timestamptz)
RETURNS timestamptz
LANGUAGE plpgsql
STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v_tz text := coalesce(spec.tz, 'UTC');
  v_clock boolean := pg_catalog.cardinality(spec.hours) = 24;
  v_from timestamptz := after;
  v_offset interval;
  v_before interval;
  v_wall timestamp;
  v_next timestamp;
  v_at timestamptz;
  v_change timestamptz;
  v_new interval;
  v_result timestamptz;
BEGIN
  IF after IS NULL OR NOT pg_catalog.isfinite(after) THEN
    RETURN NULL;
  END IF;
  IF spec.starts_at IS NOT NULL AND v_from < spec.starts_at THEN
    v_from := spec.starts_at - interval '1 microsecond';
  END IF;
  IF spec.ends_at IS NOT NULL AND v_from >= spec.ends_at THEN
    RETURN NULL;
  END IF;
  v_offset := (v_from AT TIME ZONE v_tz) - (v_from AT TIME ZONE 'UTC');
  v_wall := v_from AT TIME ZONE v_tz;
  IF NOT v_clock THEN
    -- Clocks turned back in the last 3 hours: the wall times up to the reading before the
    -- change have been seen already and do not fire again.
    v_before := ((v_from - interval '3 hours') AT TIME ZONE v_tz)
                - ((v_from - interval '3 hours') AT TIME ZONE 'UTC');
    IF v_before > v_offset THEN
      v_change := app_jobs._tz_transition(v_tz, v_from - interval '3 hours', v_from);
      v_wall := greatest(v_wall, (v_change AT TIME ZONE 'UTC') + v_before - interval '1 microsecond');
    END IF;
  END IF;
  FOR i IN 1 .. 100 LOOP
    v_next := app_jobs._next_wall(spec, v_wall);
    IF v_next IS NULL THEN
      RETURN NULL;
    END IF;
    v_at := (v_next - v_offset) AT TIME ZONE 'UTC';
    IF (v_at AT TIME ZONE v_tz) - (v_at AT TIME ZONE 'UTC') = v_offset THEN
      v_result := v_at;
      EXIT;
    END IF;
    -- The offset changes between v_from and v_at.
    v_change := app_jobs._tz_transition(v_tz, v_from, v_at);
    v_new := (v_change AT TIME ZONE v_tz) - (v_change AT TIME ZONE 'UTC');
    IF NOT v_clock AND v_new > v_offset AND v_next < (v_change AT TIME ZONE 'UTC') + v_new THEN
      -- A wall time the clock skipped fires when the clock jumps.
      v_result := v_change;
      EXIT;
    END IF;
    v_wall := CASE WHEN v_clock THEN (v_change AT TIME ZONE 'UTC') + v_new - interval '1 microsecond'
                   ELSE greatest(v_wall, (v_change AT TIME ZONE 'UTC') + greatest(v_offset, v_new)
                                         - interval '1 microsecond') END;
    v_from := v_change;
    v_offset := v_new;
  END LOOP;
  IF v_result IS NULL OR v_result > spec.ends_at THEN
    RETURN NULL;
  END IF;
  RETURN v_result;
END;
$$;

REVOKE ALL ON FUNCTION app_jobs._next_run(app_jobs.schedule_spec, timestamptz) FROM PUBLIC;

COMMENT ON FUNCTION app_jobs._next_run(app_jobs.schedule_spec, timestamptz) IS
  'Internal: the first fire time of a parsed schedule after `after` (NULL when none), in its zone, following its documented rule where clocks change.';

COMMIT;
