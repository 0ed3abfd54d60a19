-- Deploy pgjobs:functions/pause_jobs to pg
-- requires: tables/job_pauses
-- requires: functions/_tenant
-- Pauses the waiting jobs of a task, a named queue, a tenant, or any combination of them
-- (pause and resume, 0.4.0). It writes one row of app_jobs.job_pauses and nothing else, so it
-- takes the same short time whatever the backlog. It first takes the table's ACCESS EXCLUSIVE
-- lock: that waits for the claims in flight (each holds the table's ACCESS SHARE lock from its
-- probe until it commits) and holds back new ones until this transaction ends, so once the
-- pause commits no claim hands out a job it matches. Jobs already running finish undisturbed;
-- jobs claimed into a worker's buffer and not yet started are given back by start_jobs.
-- Pausing again with the same keys keeps the first pause (and its reason) and returns it.

BEGIN;

CREATE FUNCTION app_jobs.pause_jobs(
  task text DEFAULT NULL,
  queue text DEFAULT NULL,
  db_id uuid DEFAULT NULL,
  reason text DEFAULT NULL)
RETURNS app_jobs.job_pauses
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
-- A session that read job_pauses in a transaction still open delays the lock (and the claims
-- queued behind it): give up after 2 seconds rather than stall every worker.
SET lock_timeout = '2s'
AS $$
DECLARE
  v_row app_jobs.job_pauses;
BEGIN
  IF task = '' OR pg_catalog.length(task) > 255 OR queue = '' OR pg_catalog.length(queue) > 255
     OR pg_catalog.length(reason) > 1000 THEN
    RAISE EXCEPTION USING
      ERRCODE = 'PJ183',
      MESSAGE = 'pause_jobs: task and queue must be non-empty texts of at most 255 characters, reason at most 1000 characters',
      DETAIL = pg_catalog.format('task = %s, queue = %s', coalesce(pg_catalog.quote_literal(pg_catalog.left(task, 60)), 'NULL'),
                                 coalesce(pg_catalog.quote_literal(pg_catalog.left(queue, 60)), 'NULL')),
      HINT = 'Leave a key NULL to pause whatever its value, e.g. pause_jobs(task := ''send_email'').';
  END IF;
  db_id := app_jobs._tenant(db_id, 'pause_jobs');  -- tenant isolation: a tenant pauses only its own jobs
  IF pg_catalog.num_nonnulls(task, queue, db_id) = 0 THEN
    RAISE EXCEPTION USING
      ERRCODE = 'PJ182',
      MESSAGE = 'pause_jobs: name what to pause: task, queue, db_id (a tenant), or a combination',
      HINT = 'e.g. pause_jobs(task := ''send_email''), pause_jobs(queue := ''billing''), pause_jobs(db_id := ''<tenant uuid>'').';
  END IF;
  BEGIN
    LOCK TABLE app_jobs.job_pauses IN ACCESS EXCLUSIVE MODE;
  EXCEPTION WHEN lock_not_available THEN
    RAISE EXCEPTION USING
      ERRCODE = 'PJ184',
      MESSAGE = 'pause_jobs: could not take the pauses lock within 2 seconds',
      DETAIL = 'A transaction that read app_jobs.job_pauses (a claim, list_jobs, list_pauses) is still open.',
      HINT = 'Retry; look for a long transaction in pg_stat_activity (state ''idle in transaction'').';
  END;
  INSERT INTO app_jobs.job_pauses AS p (database_id, queue_name, task_identifier, reason)
  VALUES (db_id, queue, task, reason)
  ON CONFLICT (database_id, queue_name, task_identifier) DO NOTHING
  RETURNING p.* INTO v_row;
  IF v_row IS NULL THEN
    SELECT p.* INTO v_row FROM app_jobs.job_pauses AS p
     WHERE p.database_id IS NOT DISTINCT FROM db_id AND p.queue_name IS NOT DISTINCT FROM queue
       AND p.task_identifier IS NOT DISTINCT FROM task;
  END IF;
  RETURN v_row;
END;
$$;

REVOKE ALL ON FUNCTION app_jobs.pause_jobs(text, text, uuid, text) FROM PUBLIC;

COMMENT ON FUNCTION app_jobs.pause_jobs(text, text, uuid, text) IS
  'Pauses the waiting jobs of task, of named queue queue and/or of tenant db_id (NULL: any; at least one given, else PJ182; under tenant isolation db_id is the session''s tenant): once this commits no claim hands out a job the pause matches, and a paused head of a named queue holds back its queue. Writes one row (app_jobs.job_pauses), whatever the backlog. Running jobs finish; buffered jobs not yet started are given back by start_jobs. Pausing again with the same keys keeps the first pause. Returns the pause. resume_jobs undoes it.';

COMMIT;
