-- Revert pgjobs:functions/finish_jobs from pg
-- Back to the 0.4.0 definition (deploy/functions/finish_jobs@v0.4.0.sql).

BEGIN;

CREATE OR REPLACE FUNCTION app_jobs.finish_jobs(
  worker_id text,
  job_ids bigint[],
  results json[] DEFAULT NULL,
  error_messages text[] DEFAULT NULL,
  error_details json[] DEFAULT NULL,
  permanent boolean[] DEFAULT NULL,
  backoffs json[] DEFAULT NULL)
RETURNS TABLE (job_id bigint, status text)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v_count integer := coalesce(pg_catalog.cardinality(job_ids), 0);
  v_results jsonb[];
  v_errors text[] := coalesce(error_messages, '{}'::text[]);
  v_details json[] := coalesce(error_details, '{}'::json[]);
  v_job record;
  v_failed record;
BEGIN
  IF worker_id IS NULL OR worker_id = '' OR pg_catalog.length(worker_id) > 200 THEN
    RAISE EXCEPTION USING
      ERRCODE = 'PJ102',
      MESSAGE = 'finish_jobs: worker_id must be a non-empty text of at most 200 characters',
      HINT = 'Pass the worker_id that claimed the jobs with get_jobs.';
  END IF;
  IF job_ids IS NULL OR pg_catalog.array_position(job_ids, NULL) IS NOT NULL THEN
    RAISE EXCEPTION USING
      ERRCODE = 'PJ103',
      MESSAGE = 'finish_jobs: job_ids must be an array of job ids without NULLs',
      HINT = 'Pass the ids of the jobs returned by get_jobs.';
  END IF;
  IF pg_catalog.cardinality(results) NOT IN (0, v_count)
     OR pg_catalog.cardinality(error_messages) NOT IN (0, v_count)
     OR pg_catalog.cardinality(error_details) NOT IN (0, v_count)
     OR pg_catalog.cardinality(permanent) NOT IN (0, v_count)
     OR pg_catalog.cardinality(backoffs) NOT IN (0, v_count) THEN
    RAISE EXCEPTION USING
      ERRCODE = 'PJ131',
      MESSAGE = pg_catalog.format('finish_jobs: results, error_messages, error_details, permanent and backoffs must be NULL or have one element per job id (%s)', v_count),
      HINT = 'Element i of each array belongs to job_ids[i]; pass NULL elements where there is nothing.';
  END IF;

  -- The results as jsonb, all at once; if one cannot be stored, element by element, and the
  -- ones that cannot are recorded as failures with the reason.
  BEGIN
    v_results := ARRAY(SELECT r::jsonb FROM pg_catalog.unnest(coalesce(results, '{}'::json[])) WITH ORDINALITY AS u (r, i) ORDER BY i);
  EXCEPTION WHEN OTHERS THEN
    v_results := '{}'::jsonb[];
    FOR i IN 1 .. v_count LOOP
      BEGIN
        v_results := v_results || results[i]::jsonb;
      EXCEPTION WHEN OTHERS THEN
        v_results := v_results || NULL::jsonb;
        IF v_errors[i] IS NULL THEN
          v_errors[i] := pg_catalog.format('the job''s result could not be recorded: %s (%s)', SQLERRM, SQLSTATE);
        END IF;
      END;
    END LOOP;
  END;

  -- Completions, set-based: one DELETE, one INSERT into job_history.
  FOR v_job IN
    WITH done AS (
      DELETE FROM app_jobs.jobs AS j
       USING (SELECT e.id, e.i FROM pg_catalog.unnest(job_ids) WITH ORDINALITY AS e (id, i)
               WHERE v_errors[e.i] IS NULL) AS c
       WHERE j.id = c.id AND j.locked_by = finish_jobs.worker_id
      RETURNING j.*, c.i AS element),
    archived AS (
      INSERT INTO app_jobs.job_history (
        id, database_id, task_identifier, payload, priority, run_at, attempts, max_attempts,
        key, queue_name, status, last_error, worker_id, scheduled_job_id, fire_time, created_at,
        locked_at, uid, correlation_id, first_started_at, result, backoff, rerun_of)
      SELECT d.id, d.database_id, d.task_identifier, d.payload, d.priority, d.run_at, d.attempts,
             d.max_attempts, d.key, d.queue_name, 'completed', d.last_error, d.locked_by,
             d.scheduled_job_id, d.fire_time, d.created_at, d.locked_at, d.uid, d.correlation_id,
             d.first_started_at, v_results[d.element], d.backoff, d.rerun_of
        FROM done AS d)
    -- Only what the loop reads (not the whole row, payload included, for each job).
    SELECT d.id, d.database_id, d.queue_name, d.locked_by, d.watched
      FROM done AS d
  LOOP
    IF v_job.queue_name IS NOT NULL THEN
      PERFORM app_jobs._unlock_queue(v_job.database_id, v_job.queue_name, v_job.locked_by);
    END IF;
    IF v_job.watched THEN
      PERFORM pg_catalog.pg_notify('jobs:finished', v_job.id::text);
    END IF;
    job_id := v_job.id;
    status := 'completed';
    RETURN NEXT;
  END LOOP;

  -- Failures, one by one through fail_job; one it refuses to record (details or a backoff
  -- it cannot take) is recorded again as a plain failure carrying the recording error.
  FOR i IN 1 .. v_count LOOP
    CONTINUE WHEN v_errors[i] IS NULL;
    BEGIN
      SELECT f.id, f.state INTO v_failed
        FROM app_jobs.fail_job(finish_jobs.worker_id, job_ids[i], v_errors[i],
                               coalesce(permanent[i], false), v_details[i]::jsonb,
                               backoffs[i]::jsonb) AS f;
    EXCEPTION WHEN OTHERS THEN
      SELECT f.id, f.state INTO v_failed
        FROM app_jobs.fail_job(finish_jobs.worker_id, job_ids[i],
                               pg_catalog.format('%s [the failure could not be recorded as given: %s (%s)]',
                                                 v_errors[i], SQLERRM, SQLSTATE),
                               coalesce(permanent[i], false)) AS f;
    END;
    IF v_failed.id IS NOT NULL THEN
      job_id := v_failed.id;
      status := v_failed.state;
      RETURN NEXT;
    END IF;
    v_failed := NULL;
  END LOOP;
END;
$$;

REVOKE ALL ON FUNCTION app_jobs.finish_jobs(text, bigint[], json[], text[], json[], boolean[], json[]) FROM PUBLIC;

COMMENT ON FUNCTION app_jobs.finish_jobs(text, bigint[], json[], text[], json[], boolean[], json[]) IS
  'Records many outcomes of jobs held by worker_id in one call. Element i: job_ids[i] completed with results[i] when error_messages[i] is NULL (as complete_job), else its attempt failed with error_messages[i], error_details[i], permanent[i] and backoffs[i] (as fail_job: retried, failed or cancelled). Returns (job_id, status) of each outcome applied: completed, scheduled (will be retried), failed or cancelled; an element whose job worker_id does not hold changes nothing and is not returned, so retrying a flush is safe. An element that cannot be recorded as given (a result or details jsonb cannot store, a backoff fail_job refuses) is recorded as a failure carrying that error; the others are unaffected.';

COMMIT;
