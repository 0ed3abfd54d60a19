-- Deploy pgjobs:triggers/sweep_due to pg
-- requires: tables/job_queue_wakes
-- requires: tables/sweep_clock
-- A claim runs the sweep's probe at most once per 10 ms per database (tables/sweep_clock).
-- What time brings (a due run_at, a lapsed lease, a stale lock) may wait that long; a wake
-- request of a serial queue is not brought by time but by a write (an admin removes, fails
-- or delays a queue's head, a job key moves it, a release finds the next job's row held):
-- this trigger sets the clock back, so the next claim probes and settles it, as before 0.6.0.

BEGIN;

CREATE FUNCTION app_jobs._tg_sweep_due()
RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  PERFORM pg_catalog.setval('app_jobs.sweep_clock'::pg_catalog.regclass, 0);
  RETURN NULL;
END;
$$;

REVOKE ALL ON FUNCTION app_jobs._tg_sweep_due() FROM PUBLIC;

COMMENT ON FUNCTION app_jobs._tg_sweep_due() IS
  'Internal (trigger on app_jobs.job_queue_wakes): a wake request makes the next claim run the sweep''s probe (sets app_jobs.sweep_clock back to 0).';

CREATE TRIGGER job_queue_wakes_sweep_due
  AFTER INSERT ON app_jobs.job_queue_wakes
  FOR EACH STATEMENT
  EXECUTE FUNCTION app_jobs._tg_sweep_due();

COMMIT;
