-- Deploy pgjobs:functions/run_scheduled_job to pg
-- requires: functions/run_scheduled_job@v0.3.0
-- requires: tables/scheduled_jobs
-- requires: functions/_task_defaults
-- Enqueues one job from a schedule definition now, by hand ("run now"): the job has no
-- fire_time, and the schedule's next fire time is not touched. The schedule row lock
-- serialises racing callers, and a schedule whose previous job has not run yet is refused,
-- so two racing calls enqueue once. (run_due_schedules does not apply this refusal: each
-- fire time gets its job, a backfill many.)
-- 0.4.0: what the schedule leaves out (max_attempts, priority, queue_name, backoff, timeout) comes
-- from the task's settings (app_jobs._task_defaults), then the built-in defaults; the job
-- gets the schedule's correlation_id.

BEGIN;

CREATE OR REPLACE FUNCTION app_jobs.run_scheduled_job(scheduled_job_id bigint)
RETURNS app_jobs.jobs
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v_schedule app_jobs.scheduled_jobs;
  v_pending bigint;
  v_job app_jobs.jobs;
  v_defaults record;
BEGIN
  IF scheduled_job_id IS NULL THEN
    RAISE EXCEPTION USING
      ERRCODE = 'PJ103',
      MESSAGE = 'run_scheduled_job: scheduled_job_id must not be NULL',
      HINT = 'Pass the id of a row of app_jobs.scheduled_jobs.';
  END IF;
  SELECT s.* INTO v_schedule
    FROM app_jobs.scheduled_jobs AS s
   WHERE s.id = run_scheduled_job.scheduled_job_id
     FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION USING
      ERRCODE = 'PJ301',
      MESSAGE = pg_catalog.format('run_scheduled_job: there is no scheduled job %s', scheduled_job_id),
      HINT = 'List the definitions with SELECT id, task_identifier FROM app_jobs.scheduled_jobs.';
  END IF;
  SELECT j.id INTO v_pending
    FROM app_jobs.jobs AS j
   WHERE j.scheduled_job_id = v_schedule.id AND j.state <> 'running'
   ORDER BY j.id
   LIMIT 1;
  IF FOUND THEN
    RAISE EXCEPTION USING
      ERRCODE = 'PJ302',
      MESSAGE = pg_catalog.format('run_scheduled_job: scheduled job %s already has a pending job (%s)',
                                  v_schedule.id, v_pending),
      HINT = 'Wait until that job has run, or remove it first (app_jobs.permanently_fail_jobs).';
  END IF;
  PERFORM app_jobs._check_job_payload(v_schedule.database_id, v_schedule.task_identifier,
                                      v_schedule.payload, 'run_scheduled_job: ');  -- PJ190 (issue 19)
  SELECT * INTO v_defaults
    FROM app_jobs._task_defaults(v_schedule.database_id, v_schedule.task_identifier);
  INSERT INTO app_jobs.jobs AS j (database_id, task_identifier, payload, queue_name, priority,
                                  max_attempts, scheduled_job_id, state, correlation_id,
                                  backoff, timeout)
  VALUES (v_schedule.database_id, v_schedule.task_identifier, v_schedule.payload,
          coalesce(v_schedule.queue_name, v_defaults.queue_name),
          coalesce(v_schedule.priority, v_defaults.priority, 0),
          coalesce(v_schedule.max_attempts, v_defaults.max_attempts, 25), v_schedule.id,
          'ready', v_schedule.correlation_id, coalesce(v_schedule.backoff, v_defaults.backoff),
          coalesce(v_schedule.timeout, v_defaults.timeout))
  RETURNING j.* INTO v_job;
  UPDATE app_jobs.scheduled_jobs AS s SET last_job_id = v_job.id WHERE s.id = v_schedule.id;
  RETURN v_job;
END;
$$;

REVOKE ALL ON FUNCTION app_jobs.run_scheduled_job(bigint) FROM PUBLIC;

COMMENT ON FUNCTION app_jobs.run_scheduled_job(bigint) IS
  'Enqueues one job now from scheduled job scheduled_job_id (same tenant, task, payload, queue, priority, max_attempts; fire_time NULL) and returns it; the schedule''s own fire times are unaffected. Refuses (PJ302) while a job of this schedule is still waiting; racing calls enqueue once.';

COMMIT;
