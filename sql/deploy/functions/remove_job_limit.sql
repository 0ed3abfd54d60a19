-- Deploy pgjobs:functions/remove_job_limit to pg
-- requires: tables/job_limits
-- requires: functions/_tenant
-- requires: functions/_limit_indexes
-- Limits (0.5.0): lifts the limit with exactly these keys. The jobs it held back are claimable
-- already (a limit parks nothing): the next claims start them. Removing the last limit drops
-- the running-jobs indexes (app_jobs._limit_indexes).

BEGIN;

CREATE FUNCTION app_jobs.remove_job_limit(task text DEFAULT NULL, db_id uuid DEFAULT NULL)
RETURNS boolean
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET lock_timeout = '5s'
AS $$
DECLARE
  v_found boolean;
BEGIN
  db_id := app_jobs._tenant(db_id, 'remove_job_limit');  -- tenant isolation
  IF pg_catalog.num_nonnulls(task, db_id) = 0 THEN
    RAISE EXCEPTION USING
      ERRCODE = 'PJ220',
      MESSAGE = 'remove_job_limit: name the limit to lift: task, db_id (a tenant), or both',
      HINT = 'Pass the task and db_id given to set_job_limit; list_job_limits shows them.';
  END IF;
  -- Removing the last limit drops the running-jobs indexes, which needs app_jobs.jobs'
  -- ACCESS EXCLUSIVE lock: take it before the limit's row, so that no claim waits for that row
  -- while holding app_jobs.jobs (a deadlock). Callers of _limit_indexes take turns.
  PERFORM pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtextextended('pgjobs.job_limits.indexes', 0));
  IF EXISTS (SELECT 1 FROM app_jobs.job_limits AS o
              WHERE o.database_id IS NOT DISTINCT FROM db_id AND o.task_identifier IS NOT DISTINCT FROM task)
     AND NOT EXISTS (SELECT 1 FROM app_jobs.job_limits AS o
                      WHERE o.database_id IS DISTINCT FROM db_id OR o.task_identifier IS DISTINCT FROM task) THEN
    LOCK TABLE app_jobs.jobs IN ACCESS EXCLUSIVE MODE;
  END IF;
  DELETE FROM app_jobs.job_limits AS l
   WHERE l.database_id IS NOT DISTINCT FROM db_id AND l.task_identifier IS NOT DISTINCT FROM task;
  v_found := FOUND;
  IF v_found THEN
    PERFORM app_jobs._limit_indexes();  -- the last limit gone: its indexes go too
  END IF;
  RETURN v_found;
EXCEPTION WHEN lock_not_available THEN
  RAISE EXCEPTION USING
    ERRCODE = 'PJ225',
    MESSAGE = 'remove_job_limit: the limit''s row or app_jobs.jobs was not free within 5 seconds',
    DETAIL = 'A transaction that called get_jobs (and met this limit) is still open, or, for the first limit set or the last removed, one holding app_jobs.jobs (its running-jobs indexes are built or dropped).',
    HINT = 'Retry; look for a long transaction in pg_stat_activity (state ''idle in transaction'').';
END;
$$;

REVOKE ALL ON FUNCTION app_jobs.remove_job_limit(text, uuid) FROM PUBLIC;

COMMENT ON FUNCTION app_jobs.remove_job_limit(text, uuid) IS
  'Lifts the limit set by set_job_limit with exactly this task and db_id (under tenant isolation db_id is the session''s tenant; at least one given, else PJ220). True when there was one. The jobs it held back start with the next claims.';

COMMIT;
