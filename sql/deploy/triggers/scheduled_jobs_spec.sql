-- Deploy pgjobs:triggers/scheduled_jobs_spec to pg
-- requires: triggers/scheduled_jobs_spec@v0.3.0
-- requires: functions/_check_payload
-- Every write of a schedule, add_scheduled_job or a raw INSERT alike, goes through this
-- check: schedule_info is parsed into spec (a bad schedule is refused with its PJ code), the
-- missed-run policy is checked, and next_run_at is set to the first fire time after now
-- (never before last_run_at, so no fire time is enqueued twice). An update that leaves
-- schedule_info as it was (an application re-declaring its schedules at start) keeps
-- next_run_at, so a fire time due at that moment is not lost. Enabling a schedule again
-- starts from now: what it missed while disabled is not run.
-- 0.4.0: the payload is held to the payload limits (app_jobs._check_payload: PJ121), and a
-- backfill is bounded (backfill_limit at most 10000, backfill_window at most 10 years: PJ114),
-- so one schedule can no longer make run_due_schedules fail (22008) or run for hours.
-- Issue 19: the payload must hold the task's payload schema (app_jobs._check_job_payload:
-- PJ190), checked when a schedule is written and again when it fires.

BEGIN;

CREATE OR REPLACE FUNCTION app_jobs._tg_scheduled_jobs_spec()
RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v_changed boolean := TG_OP = 'INSERT'
                       OR NEW.schedule_info IS DISTINCT FROM OLD.schedule_info
                       OR NEW.spec IS DISTINCT FROM OLD.spec;
BEGIN
  IF TG_OP = 'INSERT' OR NEW.payload IS DISTINCT FROM OLD.payload THEN
    PERFORM app_jobs._check_payload(NEW.payload::json, 'schedule: payload');
  END IF;
  IF TG_OP = 'INSERT' OR NEW.payload IS DISTINCT FROM OLD.payload
     OR NEW.task_identifier IS DISTINCT FROM OLD.task_identifier THEN
    PERFORM app_jobs._check_job_payload(NEW.database_id, NEW.task_identifier, NEW.payload,
                                        'schedule: ');  -- PJ190: the task's payload schema (issue 19)
  END IF;
  IF v_changed THEN
    NEW.spec := app_jobs._parse_schedule(NEW.schedule_info);
  END IF;
  IF NEW.missed_runs IS NULL OR NEW.missed_runs NOT IN ('skip', 'run_once', 'backfill')
     OR (NEW.missed_runs = 'backfill') <> (NEW.backfill_limit IS NOT NULL OR NEW.backfill_window IS NOT NULL)
     OR NEW.backfill_limit < 1 OR NEW.backfill_limit > 10000
     OR NEW.backfill_window <= interval '0' OR NEW.backfill_window > interval '10 years' THEN
    RAISE EXCEPTION USING
      ERRCODE = 'PJ114',
      MESSAGE = pg_catalog.format(
        'schedule: invalid missed-run policy (missed_runs %s, backfill_limit %s, backfill_window %s)',
        coalesce(NEW.missed_runs, 'NULL'), coalesce(NEW.backfill_limit::text, 'NULL'),
        coalesce(NEW.backfill_window::text, 'NULL')),
      HINT = 'Use missed_runs skip or run_once (without backfill limits), or backfill with backfill_limit (1 to 10000) and/or backfill_window (a positive interval of at most 10 years).';
  END IF;
  IF v_changed OR (NEW.enabled AND NOT OLD.enabled) THEN
    NEW.next_run_at := app_jobs._next_run(NEW.spec, greatest(pg_catalog.now(), NEW.last_run_at));
    IF NEW.next_run_at IS NULL AND v_changed THEN
      RAISE EXCEPTION USING
        ERRCODE = 'PJ113',
        MESSAGE = 'schedule: the schedule never fires after now',
        DETAIL = pg_catalog.format('schedule_info = %s', NEW.schedule_info),
        HINT = 'Check the day and month (e.g. 30 February never comes) and the "end" of the schedule.';
    END IF;
  END IF;
  RETURN NEW;
END;
$$;

REVOKE ALL ON FUNCTION app_jobs._tg_scheduled_jobs_spec() FROM PUBLIC;

COMMENT ON FUNCTION app_jobs._tg_scheduled_jobs_spec() IS
  'Internal (trigger on app_jobs.scheduled_jobs): parses schedule_info into spec, checks the payload and the missed-run policy, sets next_run_at when the schedule changes or is enabled again.';

DROP TRIGGER scheduled_jobs_spec ON app_jobs.scheduled_jobs;

CREATE TRIGGER scheduled_jobs_spec
  BEFORE INSERT OR UPDATE OF schedule_info, spec, enabled, missed_runs, backfill_limit, backfill_window, payload
  ON app_jobs.scheduled_jobs
  FOR EACH ROW
  EXECUTE FUNCTION app_jobs._tg_scheduled_jobs_spec();

COMMIT;
