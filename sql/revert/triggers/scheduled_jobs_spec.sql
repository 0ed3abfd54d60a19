-- Revert pgjobs:triggers/scheduled_jobs_spec from pg
-- Back to the 0.3.0 definition (deploy/triggers/scheduled_jobs_spec@v0.3.0.sql).
-- Every write of a schedule, add_scheduled_job or a raw INSERT alike, goes through this
-- check: schedule_info is parsed into spec (a bad schedule is refused with its PJ code), the
-- missed-run policy is checked, and next_run_at is set to the first fire time after now
-- (never before last_run_at, so no fire time is enqueued twice). An update that leaves
-- schedule_info as it was (an application re-declaring its schedules at start) keeps
-- next_run_at, so a fire time due at that moment is not lost. Enabling a schedule again
-- starts from now: what it missed while disabled is not run.

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
  IF v_changed THEN
    NEW.spec := app_jobs._parse_schedule(NEW.schedule_info);
  END IF;
  IF NEW.missed_runs IS NULL OR NEW.missed_runs NOT IN ('skip', 'run_once', 'backfill')
     OR (NEW.missed_runs = 'backfill') <> (NEW.backfill_limit IS NOT NULL OR NEW.backfill_window IS NOT NULL)
     OR NEW.backfill_limit < 1 OR NEW.backfill_window <= interval '0' THEN
    RAISE EXCEPTION USING
      ERRCODE = 'PJ114',
      MESSAGE = pg_catalog.format(
        'schedule: invalid missed-run policy (missed_runs %s, backfill_limit %s, backfill_window %s)',
        coalesce(NEW.missed_runs, 'NULL'), coalesce(NEW.backfill_limit::text, 'NULL'),
        coalesce(NEW.backfill_window::text, 'NULL')),
      HINT = 'Use missed_runs skip or run_once (without backfill limits), or backfill with backfill_limit (at least 1) and/or backfill_window (a positive interval).';
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
  'Internal (trigger on app_jobs.scheduled_jobs): parses schedule_info into spec, checks the missed-run policy, sets next_run_at when the schedule changes or is enabled again.';

DROP TRIGGER scheduled_jobs_spec ON app_jobs.scheduled_jobs;

CREATE TRIGGER scheduled_jobs_spec
  BEFORE INSERT OR UPDATE OF schedule_info, spec, enabled, missed_runs, backfill_limit, backfill_window
  ON app_jobs.scheduled_jobs
  FOR EACH ROW
  EXECUTE FUNCTION app_jobs._tg_scheduled_jobs_spec();

COMMIT;
