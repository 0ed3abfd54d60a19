-- Deploy pgjobs:functions/complete_job to pg
-- requires: functions/complete_job@v0.5.0
-- requires: functions/_settle_dependants
-- requires: functions/_unlock_queue
-- Only the lock holder completes a job. A late or wrong worker changes nothing and gets
-- no row back (no exception: a worker that lost its job must not crash). The optional result
-- (the handler's return value) is stored with the history row: still one write.
-- 0.6.0: the job leaves app_jobs.jobs and enters app_jobs.job_history in one statement (its
-- DELETE ... RETURNING feeds the history INSERT), where until 0.5.0 a second statement called
-- app_jobs._archive_job with the deleted row: a completion is one statement and one function
-- call lighter (callgrind, `make bench-cpu` single path with the claim skipping the sweep's
-- probe: 1,011,000 to 980,000 instructions per job). What _archive_job does after its INSERT
-- (settle the dependants, NOTIFY the watchers) follows here for the job's flags; the INSERT
-- names every history column, as every writer of history does (tests/sql/test_history.py).
-- Later in 0.6.0 the one statement became two again, without the function call: the DELETE
-- returns the job as one composite value (RETURNING j INTO a record) and a plain INSERT ...
-- VALUES writes the history row from its fields. The statement with a CTE had three plan
-- nodes carrying the job's 32 columns (the DELETE's RETURNING and two scans of the CTE),
-- each with a row type PostgreSQL builds again at every execution: `make bench-cpu`, steady,
-- a get_job and complete_job 772,900 to 740,800 instructions per job (with get_job's claim
-- also returning one composite value: 789,800 to 740,800).

BEGIN;

CREATE OR REPLACE FUNCTION app_jobs.complete_job(worker_id text, job_id bigint, result jsonb DEFAULT NULL)
RETURNS SETOF app_jobs.jobs
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v_job app_jobs.jobs;
  v_done record;
BEGIN
  IF worker_id IS NULL OR worker_id = '' OR pg_catalog.length(worker_id) > 200 THEN
    RAISE EXCEPTION USING
      ERRCODE = 'PJ102',
      MESSAGE = 'complete_job: worker_id must be a non-empty text of at most 200 characters',
      HINT = 'Pass the worker_id that claimed the job with get_job.';
  END IF;
  IF job_id IS NULL THEN
    RAISE EXCEPTION USING
      ERRCODE = 'PJ103',
      MESSAGE = 'complete_job: job_id must not be NULL',
      HINT = 'Pass the id of the job returned by get_job.';
  END IF;

  -- The job leaves app_jobs.jobs, returned as one composite value (RETURNING j): its 32
  -- columns (RETURNING j.*) feeding the history INSERT through a CTE made PostgreSQL build
  -- a 32-column row type for each of three plan nodes at every execution. Then the history
  -- row, from the fields of that value.
  DELETE FROM app_jobs.jobs AS j
   WHERE j.id = complete_job.job_id AND j.locked_by = complete_job.worker_id
  RETURNING j AS job INTO v_done;
  IF NOT FOUND THEN
    RETURN;
  END IF;
  v_job := v_done.job;
  INSERT INTO app_jobs.job_history (
    id, database_id, task_identifier, payload, priority, run_at, attempts, max_attempts,
    key, queue_name, status, last_error, worker_id, scheduled_job_id, fire_time, created_at,
    locked_at, uid, correlation_id, first_started_at, result, backoff, rerun_of)
  VALUES (
    v_job.id, v_job.database_id, v_job.task_identifier, v_job.payload, v_job.priority,
    v_job.run_at, v_job.attempts, v_job.max_attempts, v_job.key, v_job.queue_name,
    'completed', v_job.last_error, v_job.locked_by, v_job.scheduled_job_id, v_job.fire_time,
    v_job.created_at, v_job.locked_at, v_job.uid, v_job.correlation_id,
    v_job.first_started_at, complete_job.result, v_job.backoff, v_job.rerun_of);

  -- As app_jobs._archive_job after its INSERT: a job with dependants makes them one
  -- dependency closer to due; a watched job tells its watchers.
  IF v_job.has_dependants THEN
    PERFORM app_jobs._settle_dependants(v_job.id, v_job.task_identifier, 'completed');
  END IF;
  IF v_job.watched THEN
    PERFORM pg_catalog.pg_notify('jobs:finished', v_job.id::text);
  END IF;
  IF v_job.queue_name IS NOT NULL THEN
    PERFORM app_jobs._unlock_queue(v_job.database_id, v_job.queue_name, v_job.locked_by);
  END IF;
  RETURN NEXT v_job;
END;
$$;

REVOKE ALL ON FUNCTION app_jobs.complete_job(text, bigint, jsonb) FROM PUBLIC;

COMMENT ON FUNCTION app_jobs.complete_job(text, bigint, jsonb) IS
  'Completes a job held by worker_id: the job leaves app_jobs.jobs for app_jobs.job_history (status completed, with result: any JSON, e.g. the handler''s return value) and its named queue is released. Returns the job as it was; returns no row (and changes nothing) when worker_id does not hold the job.';

COMMIT;
