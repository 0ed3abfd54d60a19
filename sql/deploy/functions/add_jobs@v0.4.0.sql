-- Deploy pgjobs:functions/add_jobs to pg
-- requires: functions/add_jobs@v0.3.0
-- requires: functions/_add_jobs
-- Bulk enqueue with add_job's semantics for every element, in one call and one transaction:
-- all or nothing. Since 0.4.0 add_job and add_jobs are one set-based implementation
-- (app_jobs._add_jobs): every element is checked by one statement, written by one INSERT in
-- element order. Every argument of add_job is taken: job_spec keeps its eight fields (so a
-- ROW(...)::app_jobs.job_spec written for 0.3.0 still casts), and correlation_ids and backoffs
-- give element i's correlation_id and backoff, timeouts (0.4.0) its timeout. (A signature
-- change: dropped and re-created.)

BEGIN;

DROP FUNCTION app_jobs.add_jobs(app_jobs.job_spec[]);

CREATE FUNCTION app_jobs.add_jobs(
  specs app_jobs.job_spec[],
  correlation_ids text[] DEFAULT NULL,
  backoffs jsonb[] DEFAULT NULL,
  timeouts interval[] DEFAULT NULL,
  job_key_mode text DEFAULT NULL)
RETURNS SETOF app_jobs.jobs
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  IF specs IS NULL THEN
    RAISE EXCEPTION USING
      ERRCODE = 'PJ103',
      MESSAGE = 'add_jobs: specs must not be NULL',
      HINT = 'Pass an array of app_jobs.job_spec (it may be empty).';
  END IF;
  IF app_jobs._tenant(NULL, 'add_jobs') IS NOT NULL THEN specs := ARRAY(SELECT pg_catalog.jsonb_populate_record(s, pg_catalog.jsonb_build_object('db_id', app_jobs._tenant(s.db_id, 'add_jobs'))) FROM pg_catalog.unnest(specs) AS s); END IF;  -- tenant isolation (issue 15)
  RETURN QUERY SELECT * FROM app_jobs._add_jobs(specs, correlation_ids, backoffs, timeouts, 'add_jobs',
                                                job_key_mode);
END;
$$;

REVOKE ALL ON FUNCTION app_jobs.add_jobs(app_jobs.job_spec[], text[], jsonb[], interval[], text) FROM PUBLIC;

COMMENT ON FUNCTION app_jobs.add_jobs(app_jobs.job_spec[], text[], jsonb[], interval[], text) IS
  'Enqueues many jobs in one call and returns them in the order given: each element (an app_jobs.job_spec: the first eight arguments of add_job; element i of correlation_ids, backoffs and timeouts gives its correlation_id, backoff and timeout) behaves as add_job would, keys included (a key repeated in the batch replaces the earlier element''s job, as two add_job calls would); job_key_mode (replace, preserve_run_at, unsafe_dedupe) applies to every element, as add_job''s; what an element leaves out takes the task''s settings. All or nothing: a bad element raises the add_job error code, naming its position, and nothing is enqueued.';

COMMIT;
