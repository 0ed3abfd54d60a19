-- Deploy pgjobs:functions/_settle_dependants to pg
-- requires: tables/jobs
-- requires: tables/job_dependencies
-- requires: tables/job_history
-- requires: functions/_wake_queue
-- Job dependencies (0.5.0): what a job with dependants (jobs.has_dependants) does to them when
-- it leaves app_jobs.jobs. Called by _archive_job and finish_jobs, the two writers of
-- job_history, only for such a job.
--   completed: each waiting dependant's pending_dependencies goes down by one, by an UPDATE of
--     its row: two last dependencies completing at once are serialised on that row, and the one
--     that brings it to 0 makes it due (ready, or scheduled when its run_at is ahead), exactly
--     once; workers are told by the row trigger jobs_notify_ready (NOTIFY "jobs:insert").
--   failed, cancelled: its waiting dependants, and theirs, transitively, are cancelled: they
--     move to job_history as cancelled, last_error naming the dependency. Level by level, each
--     level one statement that sees the edges committed before it: a dependant enqueued while
--     this transaction held the row it depends on is found at the next level.
-- Rows are locked in id order (a dependant's id is always above its dependencies'), so two
-- finishing transactions that share dependants wait for each other instead of deadlocking.

BEGIN;

CREATE FUNCTION app_jobs._settle_dependants(p_job_id bigint, p_task text, p_status text)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v_level bigint[] := ARRAY[p_job_id];
  v_root text;
  v_queue record;
  v_watched bigint[];
  v_tenants uuid[];
  v_queues text[];
BEGIN
  IF p_status = 'completed' THEN
    PERFORM 1
       FROM app_jobs.jobs AS d
      WHERE d.id IN (SELECT e.job_id FROM app_jobs.job_dependencies AS e
                      WHERE e.depends_on_id = p_job_id)
        AND d.state = 'waiting'
      ORDER BY d.id
        FOR UPDATE;
    -- A dependant made ready wakes the workers through the row trigger jobs_notify_ready
    -- (NOTIFY "jobs:insert", as an enqueue does).
    UPDATE app_jobs.jobs AS d
       SET pending_dependencies = d.pending_dependencies - 1,
           state = CASE WHEN d.pending_dependencies > 1 THEN 'waiting'
                        -- The clock, not now(): this transaction may have begun before
                        -- the dependant's enqueue (whose run_at defaults to its now()).
                        WHEN d.run_at > pg_catalog.clock_timestamp() THEN 'scheduled'
                        ELSE 'ready' END,
           updated_at = pg_catalog.now()
      FROM app_jobs.job_dependencies AS e
     WHERE e.depends_on_id = p_job_id AND d.id = e.job_id AND d.state = 'waiting';
    RETURN;
  END IF;

  v_root := pg_catalog.format('job %s (%s) %s', p_job_id, p_task,
                              CASE WHEN p_status = 'failed' THEN 'failed' ELSE 'was cancelled' END);
  LOOP
    PERFORM 1
       FROM app_jobs.jobs AS d
      WHERE d.id IN (SELECT e.job_id FROM app_jobs.job_dependencies AS e
                      WHERE e.depends_on_id = ANY (v_level))
        AND d.state = 'waiting'
      ORDER BY d.id
        FOR UPDATE;
    v_watched := NULL;
    WITH gone AS (
      DELETE FROM app_jobs.jobs AS j
       USING (SELECT e.job_id, pg_catalog.min(e.depends_on_id) AS parent
                FROM app_jobs.job_dependencies AS e
               WHERE e.depends_on_id = ANY (v_level)
               GROUP BY e.job_id) AS p
       WHERE j.id = p.job_id AND j.state = 'waiting'
      RETURNING j.*, p.parent),
    archived AS (
      INSERT INTO app_jobs.job_history (
        id, database_id, task_identifier, payload, priority, run_at, attempts, max_attempts,
        key, queue_name, status, last_error, worker_id, scheduled_job_id, fire_time, created_at,
        locked_at, uid, correlation_id, first_started_at, result, backoff, rerun_of)
      SELECT g.id, g.database_id, g.task_identifier, g.payload, g.priority, g.run_at, g.attempts,
             g.max_attempts, g.key, g.queue_name, 'cancelled',
             CASE WHEN g.parent = p_job_id
                  THEN pg_catalog.format('cancelled: its dependency %s', v_root)
                  ELSE pg_catalog.format('cancelled: its dependency job %s was cancelled because %s',
                                         g.parent, v_root) END,
             g.locked_by, g.scheduled_job_id, g.fire_time, g.created_at, g.locked_at, g.uid,
             g.correlation_id, g.first_started_at, NULL, g.backoff, g.rerun_of
        FROM gone AS g)
    SELECT pg_catalog.array_agg(g.id), pg_catalog.array_agg(g.id) FILTER (WHERE g.watched),
           pg_catalog.array_agg(g.database_id) FILTER (WHERE g.queue_name IS NOT NULL),
           pg_catalog.array_agg(g.queue_name) FILTER (WHERE g.queue_name IS NOT NULL)
      INTO v_level, v_watched, v_tenants, v_queues
      FROM gone AS g;
    EXIT WHEN v_level IS NULL;
    -- A cancelled job that headed its named queue held the queue back: wake the queue.
    FOR v_queue IN
      SELECT DISTINCT q.database_id, q.queue_name
        FROM ROWS FROM (pg_catalog.unnest(v_tenants), pg_catalog.unnest(v_queues))
             AS q (database_id, queue_name)
    LOOP
      PERFORM app_jobs._wake_queue(v_queue.database_id, v_queue.queue_name);
    END LOOP;
    IF v_watched IS NOT NULL THEN
      PERFORM pg_catalog.pg_notify('jobs:finished', w::text) FROM pg_catalog.unnest(v_watched) AS w;
    END IF;
  END LOOP;
END;
$$;

REVOKE ALL ON FUNCTION app_jobs._settle_dependants(bigint, text, text) FROM PUBLIC;

COMMENT ON FUNCTION app_jobs._settle_dependants(bigint, text, text) IS
  'Internal: job p_job_id (task p_task) with dependants left app_jobs.jobs as p_status. completed: each waiting dependant has one dependency fewer to wait for and becomes due when none is left (exactly once); failed or cancelled: its waiting dependants are cancelled, transitively, with a reason naming the dependency.';

COMMIT;
