-- Deploy pgjobs:triggers/jobs_check to pg
-- requires: tables/jobs@v0.5.0
-- requires: functions/_job_row_problem
-- The shape rules of a job's input columns (app_jobs._job_row_problem), checked only by the
-- statements that write those columns: after an INSERT, once per statement over the rows it
-- inserted (a transition table: a 50,000-job add_jobs runs one query); before an UPDATE that
-- sets one of them (reschedule_jobs, set_progress, a job key replacing a waiting job), per row.
-- The claim, start and finish never set them and pay nothing: as CHECK constraints (until
-- 0.6.0) they were compiled again for every statement writing app_jobs.jobs. A broken rule
-- raises check_violation (23514) naming the constraint it replaced, as the CHECK did; the
-- public functions refuse such input first with their own PJ errors, so only a write that
-- bypasses them meets this.

BEGIN;

CREATE FUNCTION app_jobs._tg_jobs_check_inserted()
RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v_job record;
BEGIN
  SELECT j.id, p.problem INTO v_job
    FROM inserted_jobs AS j
   CROSS JOIN LATERAL (SELECT app_jobs._job_row_problem(j.task_identifier, j.key, j.queue_name,
                                                        j.correlation_id, j.progress,
                                                        j.max_attempts, j.timeout) AS problem) AS p
   WHERE p.problem IS NOT NULL
   LIMIT 1;
  IF FOUND THEN
    RAISE EXCEPTION USING
      ERRCODE = 'check_violation',
      MESSAGE = pg_catalog.format('new row for relation "jobs" violates check constraint "%s"', v_job.problem),
      DETAIL = pg_catalog.format('job id %s', v_job.id),
      CONSTRAINT = v_job.problem, SCHEMA = 'app_jobs', TABLE = 'jobs';
  END IF;
  RETURN NULL;
END;
$$;

REVOKE ALL ON FUNCTION app_jobs._tg_jobs_check_inserted() FROM PUBLIC;

COMMENT ON FUNCTION app_jobs._tg_jobs_check_inserted() IS
  'Internal (statement trigger on app_jobs.jobs): the inserted rows keep the shape rules of a job''s input columns (app_jobs._job_row_problem), else check_violation naming the rule.';

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

CREATE TRIGGER jobs_check_insert
  AFTER INSERT ON app_jobs.jobs
  REFERENCING NEW TABLE AS inserted_jobs
  FOR EACH STATEMENT
  EXECUTE FUNCTION app_jobs._tg_jobs_check_inserted();

CREATE TRIGGER jobs_check_update
  BEFORE UPDATE OF task_identifier, key, queue_name, correlation_id, progress, max_attempts, timeout
  ON app_jobs.jobs
  FOR EACH ROW
  EXECUTE FUNCTION app_jobs._tg_jobs_check_updated();

COMMIT;
