-- Deploy pgjobs:triggers/jobs_queue_wake to pg
-- requires: triggers/jobs_queue_wake@v0.2.0
-- requires: tables/job_queue_wakes
-- A free serial queue keeps only its head claimable; the rest wait parked ('blocked') and
-- each release wakes the next one. When a waiting job of a queue leaves by another road
-- (an admin removes or fails it, reschedule_jobs delays it, a job key moves it to another
-- queue), the triggers of this change record a wake request for the queue; get_job's sweep
-- then wakes the next parked job if the queue is free and has nothing claimable (see the
-- first instance of this change for why it is recorded, not decided, here). 0.3.0: the
-- requests go to app_jobs.job_queue_wakes; the triggers themselves are unchanged.

BEGIN;

CREATE OR REPLACE FUNCTION app_jobs._tg_jobs_queue_wake()
RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  INSERT INTO app_jobs.job_queue_wakes (database_id, queue_name)
  VALUES (OLD.database_id, OLD.queue_name);
  RETURN NULL;
END;
$$;

REVOKE ALL ON FUNCTION app_jobs._tg_jobs_queue_wake() FROM PUBLIC;

COMMENT ON FUNCTION app_jobs._tg_jobs_queue_wake() IS
  'Internal (trigger on app_jobs.jobs): when a waiting job leaves its serial queue other than by a claim, records a wake request that get_job''s sweep settles.';

COMMIT;
