-- Deploy pgjobs:functions/reschedule_jobs to pg
-- requires: functions/reschedule_jobs@v0.3.0
-- requires: functions/_check_time
-- Admin: change when and how waiting jobs run. NULL arguments keep the current value.
-- 0.4.0: run_at must be a time from 0001-01-02 to 9999-12-30 (PJ119), as add_job's.

BEGIN;

CREATE OR REPLACE FUNCTION app_jobs.reschedule_jobs(
  job_ids bigint[],
  run_at timestamptz DEFAULT NULL,
  priority integer DEFAULT NULL,
  attempts integer DEFAULT NULL,
  max_attempts integer DEFAULT NULL)
RETURNS SETOF app_jobs.jobs
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v_job app_jobs.jobs;
BEGIN
  IF job_ids IS NULL THEN
    RAISE EXCEPTION USING
      ERRCODE = 'PJ103',
      MESSAGE = 'reschedule_jobs: job_ids must not be NULL',
      HINT = 'Pass an array of job ids, e.g. ARRAY[1, 2, 3]::bigint[].';
  END IF;
  PERFORM app_jobs._check_time(reschedule_jobs.run_at, 'reschedule_jobs: run_at');
  IF reschedule_jobs.attempts < 0 OR reschedule_jobs.max_attempts < 1 THEN
    RAISE EXCEPTION USING
      ERRCODE = 'PJ104',
      MESSAGE = pg_catalog.format('reschedule_jobs: attempts must be >= 0 and max_attempts >= 1, got attempts = %s, max_attempts = %s',
                                  coalesce(reschedule_jobs.attempts::text, 'NULL'), coalesce(reschedule_jobs.max_attempts::text, 'NULL')),
      HINT = 'Leave an argument NULL to keep the current value.';
  END IF;
  FOR v_job IN
    UPDATE app_jobs.jobs AS j
       SET run_at = coalesce(reschedule_jobs.run_at, j.run_at),
           priority = coalesce(reschedule_jobs.priority, j.priority),
           attempts = coalesce(reschedule_jobs.attempts, j.attempts),
           max_attempts = coalesce(reschedule_jobs.max_attempts, j.max_attempts),
           state = CASE WHEN coalesce(reschedule_jobs.run_at, j.run_at) > pg_catalog.now()
                        THEN 'scheduled' ELSE 'ready' END,
           updated_at = pg_catalog.now()
     WHERE j.id = ANY (job_ids) AND j.state <> 'running'
    RETURNING j.*
  LOOP
    IF v_job.attempts >= v_job.max_attempts THEN
      RAISE EXCEPTION USING
        ERRCODE = 'PJ108',
        MESSAGE = pg_catalog.format('reschedule_jobs: job %s would have no attempt left (attempts %s, max_attempts %s)',
                                    v_job.id, v_job.attempts, v_job.max_attempts),
        HINT = 'Lower attempts or raise max_attempts; to stop a job for good use app_jobs.permanently_fail_jobs.';
    END IF;
    RETURN NEXT v_job;
  END LOOP;
END;
$$;

REVOKE ALL ON FUNCTION app_jobs.reschedule_jobs(bigint[], timestamptz, integer, integer, integer) FROM PUBLIC;

COMMENT ON FUNCTION app_jobs.reschedule_jobs(bigint[], timestamptz, integer, integer, integer) IS
  'Admin: sets run_at, priority, attempts and/or max_attempts (NULL keeps the value) of the given waiting jobs; running jobs are skipped. Refuses a run_at outside 0001-01-02 .. 9999-12-30 (PJ119) and (PJ108, nothing changed) a change that leaves a job no attempt. Returns the jobs it changed.';

COMMIT;
