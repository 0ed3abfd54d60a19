-- Deploy pgjobs:triggers/jobs_notify to pg
-- requires: triggers/jobs_notify@v0.3.0
-- An insert notifies once per statement, not once per row: a statement-level trigger looks
-- at the rows the statement inserted (a transition table) and sends NOTIFY "jobs:insert" when
-- one of them is claimable now (state 'ready'). The row-level trigger of 0.3.0 called a
-- function for every inserted ready job (a sixth of a 50,000-job add_jobs) only for
-- PostgreSQL to fold all those notifications into one. What workers receive is unchanged:
-- one notification per transaction that made a job claimable, none for a future run_at.
-- A job made claimable by an update (a serial queue released, a due job promoted, a job
-- rescheduled to now) still notifies through the row-level jobs_notify_ready of 0.1.0.

BEGIN;

DROP TRIGGER jobs_notify_insert ON app_jobs.jobs;

CREATE FUNCTION app_jobs._tg_jobs_notify_inserted()
RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  IF EXISTS (SELECT 1 FROM inserted_jobs AS j WHERE j.state = 'ready') THEN
    PERFORM pg_catalog.pg_notify('jobs:insert', '');
  END IF;
  RETURN NULL;
END;
$$;

REVOKE ALL ON FUNCTION app_jobs._tg_jobs_notify_inserted() FROM PUBLIC;

COMMENT ON FUNCTION app_jobs._tg_jobs_notify_inserted() IS
  'Internal (statement trigger on app_jobs.jobs): NOTIFY "jobs:insert" with an empty payload once when an INSERT made a job claimable now.';

CREATE TRIGGER jobs_notify_insert
  AFTER INSERT ON app_jobs.jobs
  REFERENCING NEW TABLE AS inserted_jobs
  FOR EACH STATEMENT
  EXECUTE FUNCTION app_jobs._tg_jobs_notify_inserted();

COMMIT;
