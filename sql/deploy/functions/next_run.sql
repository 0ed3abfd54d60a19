-- Deploy pgjobs:functions/next_run to pg
-- requires: functions/_parse_schedule
-- requires: functions/_next_run
-- The next fire time of any schedule_info, from SQL: what run_due_schedules will use.

BEGIN;

CREATE FUNCTION app_jobs.next_run(schedule jsonb, after timestamptz DEFAULT pg_catalog.now())
RETURNS timestamptz
LANGUAGE sql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
  SELECT app_jobs._next_run(app_jobs._parse_schedule(schedule), after);
$$;

REVOKE ALL ON FUNCTION app_jobs.next_run(jsonb, timestamptz) FROM PUBLIC;

COMMENT ON FUNCTION app_jobs.next_run(jsonb, timestamptz) IS
  'The first fire time of schedule (a schedule_info object: rule object, {"cron": ...} or {"rule": ...}, optional tz, start, end) strictly after `after` (default now), or NULL when it has ended. Wall-clock times of its zone (default UTC); where clocks change, schedules running every hour follow the clock, others fire once per wall time (a skipped time runs when the clock jumps, a repeated one at its first occurrence). Bad schedules raise PJ107, PJ111 or PJ112.';

COMMIT;
