-- Deploy pgjobs:tables/worker_tasks to pg
-- requires: schema
-- Which tasks each worker serves, as the worker declared them at start
-- (app_jobs.declare_worker_tasks). Liveness is not kept here: a row counts while its worker
-- holds a live lease in app_jobs.workers, so a crashed worker's rows stop counting when its
-- lease lapses, without anyone writing. Rows of workers that are gone (no lease row any more)
-- are deleted by the next declaration of any worker, after a grace period that covers the
-- moment between a worker's declaration and its first heartbeat. No foreign key to workers:
-- a worker declares before its first heartbeat, and release_jobs forgets its lease at stop.

BEGIN;

CREATE TABLE app_jobs.worker_tasks (
  worker_id text NOT NULL,
  task_identifier text NOT NULL,
  declared_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
  CONSTRAINT worker_tasks_pkey PRIMARY KEY (worker_id, task_identifier)
);

-- app_jobs.task_coverage() counts a task's live workers through this.
CREATE INDEX worker_tasks_task_identifier_idx ON app_jobs.worker_tasks (task_identifier);

REVOKE ALL ON TABLE app_jobs.worker_tasks FROM PUBLIC;

COMMENT ON TABLE app_jobs.worker_tasks IS
  'The tasks each worker serves, written by app_jobs.declare_worker_tasks() when the worker starts. A row counts while its worker holds a live lease in app_jobs.workers; rows of workers that are gone are deleted by later declarations. Read by app_jobs.task_coverage().';
COMMENT ON COLUMN app_jobs.worker_tasks.worker_id IS 'The worker_id the worker passes to get_job and heartbeat.';
COMMENT ON COLUMN app_jobs.worker_tasks.task_identifier IS 'A task the worker has a handler for (one it asks get_job/get_jobs for).';
COMMENT ON COLUMN app_jobs.worker_tasks.declared_at IS 'When the worker last declared its tasks.';

-- Inside CREATE EXTENSION pgjobs, keep the rows in dumps as app_jobs.workers' rows are kept
-- (a restored lease row without its tasks would show the worker serving nothing).
DO $$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_catalog.pg_extension WHERE extname = 'pgjobs') THEN
    PERFORM pg_catalog.pg_extension_config_dump('app_jobs.worker_tasks', '');
  END IF;
END
$$;

COMMIT;
