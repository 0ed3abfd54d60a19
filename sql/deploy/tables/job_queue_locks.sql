-- Deploy pgjobs:tables/job_queue_locks to pg
-- requires: tables/job_queues
-- The serial-queue lock: one row per (tenant, named queue) while a job of the queue runs,
-- none otherwise. Until 0.3.0 the lock lived in app_jobs.job_queues next to a job_count
-- that triggers kept; job_count is now counted from app_jobs.jobs by the job_queues view,
-- so nothing but the lock is stored, and a dump restores exactly (a stored count was
-- counted twice by a plain pg_restore: once in the dumped row, once by the triggers that
-- fire as the jobs are loaded). A holder takes the row by inserting it (app_jobs._lock_queue)
-- and gives it back by deleting it (app_jobs._unlock_queue).

BEGIN;

-- Workers of the release being upgraded keep working while this runs. Every transaction of
-- theirs that takes or releases a queue touches app_jobs.jobs first, so holding jobs
-- exclusively from here to the end of the upgrade (pgjobs deploy and ALTER EXTENSION UPDATE
-- run it in one transaction) lets no lock change between the copy below and the switch to
-- the new functions: in-flight claims and completions finish first, later ones wait for the
-- new release. (sqitch commits change by change; tables/job_queues reconciles the locks
-- again for it.)
LOCK TABLE app_jobs.jobs IN ACCESS EXCLUSIVE MODE;

CREATE TABLE app_jobs.job_queue_locks (
  database_id uuid NOT NULL,
  queue_name text NOT NULL,
  locked_by text NOT NULL,
  locked_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
  CONSTRAINT job_queue_locks_pkey PRIMARY KEY (database_id, queue_name)
);

-- The stale-lock safety net in app_jobs._sweep and release_jobs look up locks through these.
CREATE INDEX job_queue_locks_locked_at_idx ON app_jobs.job_queue_locks (locked_at);
CREATE INDEX job_queue_locks_locked_by_idx ON app_jobs.job_queue_locks (locked_by);

REVOKE ALL ON TABLE app_jobs.job_queue_locks FROM PUBLIC;

COMMENT ON TABLE app_jobs.job_queue_locks IS
  'Internal: the locks of named serial queues, one row per (tenant, queue) while one of its jobs runs. Read them through the app_jobs.job_queues view.';
COMMENT ON COLUMN app_jobs.job_queue_locks.database_id IS 'Tenant owning the queue.';
COMMENT ON COLUMN app_jobs.job_queue_locks.queue_name IS 'Queue name, as passed to add_job(queue_name := ...).';
COMMENT ON COLUMN app_jobs.job_queue_locks.locked_by IS 'Worker running a job of this queue.';
COMMENT ON COLUMN app_jobs.job_queue_locks.locked_at IS 'When that worker took the queue.';

-- An upgrade carries over the locks held right now (a fresh install has none).
INSERT INTO app_jobs.job_queue_locks (database_id, queue_name, locked_by, locked_at)
SELECT q.database_id, q.queue_name, q.locked_by, q.locked_at
  FROM app_jobs.job_queues AS q
 WHERE q.locked_by IS NOT NULL;

-- Inside CREATE EXTENSION / ALTER EXTENSION UPDATE (the pg_extension row exists while the
-- script runs), mark the table as user data, so pg_dump keeps its rows. sqitch and pgjobs
-- deploy skip this.
DO $$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_catalog.pg_extension WHERE extname = 'pgjobs') THEN
    PERFORM pg_catalog.pg_extension_config_dump('app_jobs.job_queue_locks', '');
  END IF;
END
$$;

COMMIT;
