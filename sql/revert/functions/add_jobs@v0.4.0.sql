-- Revert pgjobs:functions/add_jobs from pg
-- Back to the 0.3.0 definition (deploy/functions/add_jobs@v0.3.0.sql).

BEGIN;

DROP FUNCTION app_jobs.add_jobs(app_jobs.job_spec[], text[], jsonb[], interval[], text);

CREATE FUNCTION app_jobs.add_jobs(specs app_jobs.job_spec[])
RETURNS SETOF app_jobs.jobs
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v_count integer := coalesce(pg_catalog.cardinality(specs), 0);
  v_spec app_jobs.job_spec;
  v_first integer;
  v_last integer;
BEGIN
  IF specs IS NULL THEN
    RAISE EXCEPTION USING
      ERRCODE = 'PJ103',
      MESSAGE = 'add_jobs: specs must not be NULL',
      HINT = 'Pass an array of app_jobs.job_spec (it may be empty).';
  END IF;

  FOR i IN 1 .. v_count LOOP
    v_spec := specs[i];
    IF v_spec.identifier IS NULL OR v_spec.identifier = '' OR pg_catalog.length(v_spec.identifier) > 255 THEN
      RAISE EXCEPTION USING
        ERRCODE = 'PJ101',
        MESSAGE = pg_catalog.format('add_jobs: element %s: identifier (the task name) must be a non-empty text of at most 255 characters', i),
        HINT = 'Every element needs the name of the task that runs it; nothing was enqueued.';
    END IF;
    IF coalesce(v_spec.max_attempts, 25) < 1 THEN
      RAISE EXCEPTION USING
        ERRCODE = 'PJ104',
        MESSAGE = pg_catalog.format('add_jobs: element %s: max_attempts must be at least 1, got %s', i, v_spec.max_attempts),
        HINT = 'Pass NULL for the default of 25; nothing was enqueued.';
    END IF;
    IF v_spec.job_key = '' OR pg_catalog.length(v_spec.job_key) > 512
       OR v_spec.queue_name = '' OR pg_catalog.length(v_spec.queue_name) > 255 THEN
      RAISE EXCEPTION USING
        ERRCODE = 'PJ106',
        MESSAGE = pg_catalog.format('add_jobs: element %s: job_key and queue_name must be NULL or non-empty (at most 512 and 255 characters)', i),
        HINT = 'Pass NULL for a job without a key or queue; nothing was enqueued.';
    END IF;
  END LOOP;

  v_first := 1;
  WHILE v_first <= v_count LOOP
    v_spec := specs[v_first];
    IF v_spec.job_key IS NOT NULL THEN
      RETURN NEXT app_jobs.add_job(v_spec.db_id, v_spec.identifier, v_spec.payload, v_spec.job_key,
                                   v_spec.queue_name, v_spec.run_at, v_spec.max_attempts,
                                   v_spec.priority);
      v_first := v_first + 1;
      CONTINUE;
    END IF;
    v_last := v_first;
    WHILE v_last < v_count AND (specs[v_last + 1]).job_key IS NULL LOOP
      v_last := v_last + 1;
    END LOOP;
    RETURN QUERY
      INSERT INTO app_jobs.jobs AS j (database_id, task_identifier, payload, queue_name, run_at,
                                      max_attempts, priority, state)
      SELECT coalesce(s.db_id, '00000000-0000-0000-0000-000000000000'::uuid),
             s.identifier,
             coalesce(s.payload::jsonb, '{}'::jsonb),
             s.queue_name,
             coalesce(s.run_at, pg_catalog.now()),
             coalesce(s.max_attempts, 25),
             coalesce(s.priority, 0),
             CASE WHEN coalesce(s.run_at, pg_catalog.now()) > pg_catalog.now()
                  THEN 'scheduled' ELSE 'ready' END
        FROM pg_catalog.unnest(specs[v_first:v_last]) WITH ORDINALITY
             AS s (db_id, identifier, payload, job_key, queue_name, run_at, max_attempts,
                   priority, ord)
       ORDER BY s.ord
      RETURNING j.*;
    v_first := v_last + 1;
  END LOOP;
END;
$$;

REVOKE ALL ON FUNCTION app_jobs.add_jobs(app_jobs.job_spec[]) FROM PUBLIC;

COMMENT ON FUNCTION app_jobs.add_jobs(app_jobs.job_spec[]) IS
  'Enqueues many jobs in one call and returns them in the order given: each element (an app_jobs.job_spec: the arguments of add_job) behaves as add_job would, keys included. All or nothing: a bad element raises the add_job error code, naming its position, and nothing is enqueued.';

COMMIT;
