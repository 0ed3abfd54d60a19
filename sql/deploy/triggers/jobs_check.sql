-- Deploy pgjobs:triggers/jobs_check to pg
-- requires: tables/jobs@v0.5.0
-- requires: functions/_job_row_problem
-- The shape rules of a job's input columns (app_jobs._job_row_problem), checked only by the
-- statements that write those columns: after an INSERT, once per statement over the rows it
-- inserted (a transition table: a 50,000-job add_jobs runs one query, which also sends the
-- insert's NOTIFY, formerly trigger jobs_notify_insert's: a second statement trigger was a
-- twentieth of an add_job, make bench-cpu --paths enqueue); before an UPDATE that
-- sets one of them (reschedule_jobs, set_progress, a job key replacing a waiting job), per row.
-- The claim, start and finish never set them and pay nothing: as CHECK constraints (until
-- 0.6.0) they were compiled again for every statement writing app_jobs.jobs. A broken rule
-- raises check_violation (23514) naming the constraint it replaced, as the CHECK did; the
-- public functions refuse such input first with their own PJ errors, so only a write that
-- bypasses them meets this.

BEGIN;

CREATE FUNCTION app_jobs._tg_jobs_inserted()
RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v_bad bigint;
  v_ready boolean;
  v_problem text;
BEGIN
  -- One pass over the inserted rows: the first (by id, so by element for add_jobs) that
  -- breaks a shape rule, and whether any is claimable now.
  SELECT pg_catalog.min(j.id) FILTER (
           WHERE app_jobs._job_row_problem(j.task_identifier, j.key, j.queue_name,
                                           j.correlation_id, j.progress, j.max_attempts,
                                           j.timeout) IS NOT NULL),
         pg_catalog.bool_or(j.state = 'ready')
    INTO v_bad, v_ready
    FROM inserted_jobs AS j;
  IF v_bad IS NOT NULL THEN
    SELECT app_jobs._job_row_problem(j.task_identifier, j.key, j.queue_name, j.correlation_id,
                                     j.progress, j.max_attempts, j.timeout)
      INTO v_problem
      FROM inserted_jobs AS j
     WHERE j.id = v_bad;
    RAISE EXCEPTION USING
      ERRCODE = 'check_violation',
      MESSAGE = pg_catalog.format('new row for relation "jobs" violates check constraint "%s"', v_problem),
      DETAIL = pg_catalog.format('job id %s', v_bad),
      CONSTRAINT = v_problem, SCHEMA = 'app_jobs', TABLE = 'jobs';
  END IF;
  IF v_ready THEN
    PERFORM pg_catalog.pg_notify('jobs:insert', '');
  END IF;
  RETURN NULL;
END;
$$;

REVOKE ALL ON FUNCTION app_jobs._tg_jobs_inserted() FROM PUBLIC;

COMMENT ON FUNCTION app_jobs._tg_jobs_inserted() IS
  'Internal (statement trigger on app_jobs.jobs): the inserted rows keep the shape rules of a job''s input columns (app_jobs._job_row_problem), else check_violation naming the rule; then NOTIFY "jobs:insert" with an empty payload once when the INSERT made a job claimable now.';

CREATE FUNCTION app_jobs._tg_jobs_check_updated()
RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v_problem text := app_jobs._job_row_problem(NEW.task_identifier, NEW.key, NEW.queue_name,
                                              NEW.correlation_id, NEW.progress,
                                              NEW.max_attempts, NEW.timeout);
BEGIN
  IF v_problem IS NOT NULL THEN
    RAISE EXCEPTION USING
      ERRCODE = 'check_violation',
      MESSAGE = pg_catalog.format('new row for relation "jobs" violates check constraint "%s"', v_problem),
      DETAIL = pg_catalog.format('job id %s', NEW.id),
      CONSTRAINT = v_problem, SCHEMA = 'app_jobs', TABLE = 'jobs';
  END IF;
  RETURN NEW;
END;
$$;

REVOKE ALL ON FUNCTION app_jobs._tg_jobs_check_updated() FROM PUBLIC;

COMMENT ON FUNCTION app_jobs._tg_jobs_check_updated() IS
  'Internal (row trigger on app_jobs.jobs, for updates that set an input column): the row keeps the shape rules of a job''s input columns (app_jobs._job_row_problem), else check_violation naming the rule.';

-- The insert's notification (jobs_notify_insert, 0.4.0) moves into this trigger: one
-- statement trigger, one pass over the inserted rows, where two triggers each ran a query.
DROP TRIGGER jobs_notify_insert ON app_jobs.jobs;
DROP FUNCTION app_jobs._tg_jobs_notify_inserted();

CREATE TRIGGER jobs_inserted
  AFTER INSERT ON app_jobs.jobs
  REFERENCING NEW TABLE AS inserted_jobs
  FOR EACH STATEMENT
  EXECUTE FUNCTION app_jobs._tg_jobs_inserted();

CREATE TRIGGER jobs_check_update
  BEFORE UPDATE OF task_identifier, key, queue_name, correlation_id, progress, max_attempts, timeout
  ON app_jobs.jobs
  FOR EACH ROW
  EXECUTE FUNCTION app_jobs._tg_jobs_check_updated();

COMMIT;
