-- Deploy pgjobs:triggers/jobs_queue_wake to pg
-- requires: tables/jobs
-- requires: tables/job_queues
-- A free serial queue keeps only its head claimable; the rest wait parked ('blocked') and
-- each release wakes the next one. When a waiting job of a queue leaves by another road
-- (an admin removes or fails it, reschedule_jobs delays it, a job key moves it to another
-- queue), this wakes the queue's next parked job if the queue is free and nothing of it is
-- claimable. Making a job claimable is always safe (the claim enforces the queue lock), so
-- this needs no lock on the queue row. The hot path (claim, complete, fail, park, wake)
-- never matches the WHEN clauses.

BEGIN;

CREATE FUNCTION app_jobs._tg_jobs_queue_wake()
RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  IF EXISTS (SELECT 1 FROM app_jobs.job_queues AS q
              WHERE q.database_id = OLD.database_id AND q.queue_name = OLD.queue_name
                AND q.locked_by IS NOT NULL)
     OR EXISTS (SELECT 1 FROM app_jobs.jobs AS j
                 WHERE j.database_id = OLD.database_id AND j.queue_name = OLD.queue_name
                   AND j.state = 'ready')
  THEN
    RETURN NULL;
  END IF;
  UPDATE app_jobs.jobs AS j
     SET state = 'ready'
   WHERE j.id = (
     SELECT b.id
       FROM app_jobs.jobs AS b
      WHERE b.database_id = OLD.database_id
        AND b.queue_name = OLD.queue_name
        AND b.state = 'blocked'
      ORDER BY b.priority, b.run_at, b.id
      LIMIT 1
        FOR UPDATE SKIP LOCKED);
  RETURN NULL;
END;
$$;

REVOKE ALL ON FUNCTION app_jobs._tg_jobs_queue_wake() FROM PUBLIC;

COMMENT ON FUNCTION app_jobs._tg_jobs_queue_wake() IS
  'Internal (trigger on app_jobs.jobs): when a waiting job leaves its serial queue other than by a claim, wakes the queue''s next parked job if the queue is free and has nothing claimable.';

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
