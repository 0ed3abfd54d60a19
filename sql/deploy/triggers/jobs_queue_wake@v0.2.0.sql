-- Deploy pgjobs:triggers/jobs_queue_wake to pg
-- requires: tables/jobs
-- requires: tables/job_queue_deltas
-- A free serial queue keeps only its head claimable; the rest wait parked ('blocked') and
-- each release wakes the next one. When a waiting job of a queue leaves by another road
-- (an admin removes or fails it, reschedule_jobs delays it, a job key moves it to another
-- queue), this records a wake request for the queue (a zero row in job_queue_deltas):
-- get_job's sweep then wakes the next parked job under the queue row lock if the queue is
-- free and has nothing claimable. Deciding here could race (two removers each seeing the
-- other's job still claimable) and would not survive a rollback of the other party; a
-- recorded request does. The hot path (claim, complete, fail, park, wake) never matches the
-- WHEN clauses.

BEGIN;

CREATE FUNCTION app_jobs._tg_jobs_queue_wake()
RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  INSERT INTO app_jobs.job_queue_deltas (database_id, queue_name, delta)
  VALUES (OLD.database_id, OLD.queue_name, 0);
  RETURN NULL;
END;
$$;

REVOKE ALL ON FUNCTION app_jobs._tg_jobs_queue_wake() FROM PUBLIC;

COMMENT ON FUNCTION app_jobs._tg_jobs_queue_wake() IS
  'Internal (trigger on app_jobs.jobs): when a waiting job leaves its serial queue other than by a claim, records a wake request that get_job''s sweep settles.';

CREATE TRIGGER jobs_queue_wake_delete
  AFTER DELETE ON app_jobs.jobs
  FOR EACH ROW
  WHEN (OLD.queue_name IS NOT NULL AND OLD.state IN ('ready', 'blocked'))
  EXECUTE FUNCTION app_jobs._tg_jobs_queue_wake();

CREATE TRIGGER jobs_queue_wake_update
  AFTER UPDATE ON app_jobs.jobs
  FOR EACH ROW
  WHEN (OLD.queue_name IS NOT NULL AND OLD.state IN ('ready', 'blocked')
        AND (NEW.state = 'scheduled'
             OR NEW.queue_name IS DISTINCT FROM OLD.queue_name
             OR NEW.database_id IS DISTINCT FROM OLD.database_id))
  EXECUTE FUNCTION app_jobs._tg_jobs_queue_wake();

COMMIT;
