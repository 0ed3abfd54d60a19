-- Deploy pgjobs:functions/next_run to pg
-- requires: functions/_parse_schedule
-- requires: functions/_next_run
-- The next fire time of any schedule_info, from SQL: what run_due_schedules will use. A bad
-- schedule raises the parser's PJ error, its message naming next_run.

BEGIN;

CREATE FUNCTION app_jobs.next_run(schedule jsonb, after timestamptz DEFAULT pg_catalog.now())
RETURNS timestamptz
LANGUAGE plpgsql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v_spec app_jobs.schedule_spec;
  v_state text;
  v_message text;
  v_detail text;
  v_hint text;
BEGIN
  BEGIN
    v_spec := app_jobs._parse_schedule(schedule);
  EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS v_state = RETURNED_SQLSTATE, v_message = MESSAGE_TEXT,
                            v_detail = PG_EXCEPTION_DETAIL, v_hint = PG_EXCEPTION_HINT;
    IF v_state NOT LIKE 'PJ%' THEN
      RAISE;
    END IF;
    RAISE EXCEPTION USING
      ERRCODE = v_state,
      MESSAGE = 'next_run: ' || pg_catalog.regexp_replace(v_message, '^schedule: ', ''),
      DETAIL = v_detail,
      HINT = v_hint;
  END;
  RETURN app_jobs._next_run(v_spec, after);
END;
$$;

REVOKE ALL ON FUNCTION app_jobs.next_run(jsonb, timestamptz) FROM PUBLIC;

COMMENT ON FUNCTION app_jobs.next_run(jsonb, timestamptz) IS
  'The first fire time of schedule (a schedule_info object: rule object, {"cron": ...} or {"rule": ...}, optional tz, start, end) strictly after `after` (default now), or NULL when it has ended. Wall-clock times of its zone (default UTC); where clocks change, schedules running every hour follow the clock, others fire once per wall time (a skipped time runs when the clock jumps, a repeated one at its first occurrence). Bad schedules raise PJ107, PJ111 or PJ112.';

COMMIT;
