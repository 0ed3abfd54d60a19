-- Deploy pgjobs:functions/declare_worker_tasks to pg
-- requires: tables/worker_tasks
-- requires: tables/workers
-- A worker says once, at start, which tasks it serves: its rows in app_jobs.worker_tasks become
-- exactly task_identifiers (a new life under the same worker_id replaces what the previous one
-- declared). The call also deletes the rows of workers that are gone: no lease row in
-- app_jobs.workers (stopped: release_jobs forgot it; crashed: the sweep forgot it once its jobs
-- were reclaimed) and declared more than 10 minutes ago (the grace covers a worker that
-- declared and has not yet sent its first heartbeat). So the table holds the tasks of the
-- workers that hold a lease row plus those started in the last 10 minutes, however many
-- workers come and go; rows locked by a concurrent declaration are left to the next one.

BEGIN;

CREATE FUNCTION app_jobs.declare_worker_tasks(worker_id text, task_identifiers text[])
RETURNS integer
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v_bad text;
  v_count integer;
BEGIN
  IF worker_id IS NULL OR worker_id = '' OR pg_catalog.length(worker_id) > 200 THEN
    RAISE EXCEPTION USING
      ERRCODE = 'PJ102',
      MESSAGE = 'declare_worker_tasks: worker_id must be a non-empty text of at most 200 characters',
      HINT = 'Pass the worker_id this worker gives get_job and heartbeat.';
  END IF;
  IF task_identifiers IS NULL OR pg_catalog.cardinality(task_identifiers) NOT BETWEEN 1 AND 1000 THEN
    RAISE EXCEPTION USING
      ERRCODE = 'PJ160',
      MESSAGE = pg_catalog.format(
        'declare_worker_tasks: task_identifiers must hold 1 to 1000 task names, got %s',
        coalesce(pg_catalog.cardinality(task_identifiers)::text || ' elements', 'NULL')),
      HINT = 'Pass the task names this worker has handlers for, e.g. ARRAY[''send_email''].';
  END IF;
  SELECT coalesce(pg_catalog.quote_nullable(t), 'NULL') INTO v_bad
    FROM pg_catalog.unnest(task_identifiers) AS t
   WHERE t IS NULL OR t = '' OR pg_catalog.length(t) > 255
   LIMIT 1;
  IF FOUND THEN
    RAISE EXCEPTION USING
      ERRCODE = 'PJ160',
      MESSAGE = pg_catalog.format(
        'declare_worker_tasks: every task name must be a non-empty text of at most 255 characters, got %s',
        pg_catalog.left(v_bad, 300)),
      HINT = 'Pass task names as add_job takes them (identifier).';
  END IF;

  DELETE FROM app_jobs.worker_tasks AS t
   WHERE t.worker_id = declare_worker_tasks.worker_id
     AND t.task_identifier <> ALL (declare_worker_tasks.task_identifiers);
  INSERT INTO app_jobs.worker_tasks AS t (worker_id, task_identifier, declared_at)
  SELECT DISTINCT declare_worker_tasks.worker_id, n.name, pg_catalog.now()
    FROM pg_catalog.unnest(declare_worker_tasks.task_identifiers) AS n(name)
   ORDER BY 2
  ON CONFLICT ON CONSTRAINT worker_tasks_pkey DO UPDATE SET declared_at = excluded.declared_at;
  GET DIAGNOSTICS v_count = ROW_COUNT;

  -- Forget the workers that are gone (see above); skip rows another declaration is deleting.
  DELETE FROM app_jobs.worker_tasks AS t
   WHERE (t.worker_id, t.task_identifier) IN (
     SELECT g.worker_id, g.task_identifier
       FROM app_jobs.worker_tasks AS g
      WHERE g.declared_at < pg_catalog.now() - interval '10 minutes'
        AND NOT EXISTS (SELECT 1 FROM app_jobs.workers AS w WHERE w.worker_id = g.worker_id)
        FOR UPDATE SKIP LOCKED);
  RETURN v_count;
END;
$$;

REVOKE ALL ON FUNCTION app_jobs.declare_worker_tasks(text, text[]) FROM PUBLIC;

COMMENT ON FUNCTION app_jobs.declare_worker_tasks(text, text[]) IS
  'A worker declares, once at start, the tasks it serves (those it has handlers for): its rows in app_jobs.worker_tasks become exactly task_identifiers (1 to 1000 names; duplicates count once) and the number of tasks declared is returned. The declaration counts in app_jobs.task_coverage() while the worker holds a live lease (app_jobs.heartbeat). Also deletes the declarations of workers that are gone (no lease row, declared over 10 minutes ago). Raises PJ102 (worker_id), PJ160 (task_identifiers).';

COMMIT;
