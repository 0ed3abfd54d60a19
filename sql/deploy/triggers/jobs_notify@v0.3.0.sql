-- Deploy pgjobs:triggers/jobs_notify to pg
-- requires: tables/jobs
-- Workers LISTEN on the channel "jobs:insert". The notification fires when a job becomes
-- claimable now (state 'ready'): on enqueue without a future run_at, and when a waiting
-- job is made claimable (a serial queue released, a due job promoted, a job rescheduled to
-- now). Never on claim, complete or a future run_at. Channel and payload are constant, so
-- PostgreSQL folds all the notifications of one transaction (a bulk insert) into one.

BEGIN;

CREATE FUNCTION app_jobs._tg_jobs_notify()
RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  PERFORM pg_catalog.pg_notify('jobs:insert', '');
  RETURN NULL;
END;
$$;

REVOKE ALL ON FUNCTION app_jobs._tg_jobs_notify() FROM PUBLIC;

COMMENT ON FUNCTION app_jobs._tg_jobs_notify() IS
  'Internal (trigger on app_jobs.jobs): NOTIFY "jobs:insert" with an empty payload when a job becomes claimable.';

CREATE TRIGGER jobs_notify_insert
  AFTER INSERT ON app_jobs.jobs
  FOR EACH ROW
  WHEN (NEW.state = 'ready')
  EXECUTE FUNCTION app_jobs._tg_jobs_notify();

CREATE TRIGGER jobs_notify_ready
  AFTER UPDATE OF state ON app_jobs.jobs
  FOR EACH ROW
  WHEN (NEW.state = 'ready' AND OLD.state <> 'ready')
  EXECUTE FUNCTION app_jobs._tg_jobs_notify();

COMMIT;
