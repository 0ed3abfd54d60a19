-- Deploy pgjobs:functions/set_job_limit to pg
-- requires: tables/job_limits
-- requires: functions/_tenant
-- requires: functions/_limit_indexes
-- Limits (0.5.0): sets the concurrency limit and/or the rate limit of a task, a tenant, or a
-- task within a tenant (one row of app_jobs.job_limits per key; setting again replaces both
-- limits of that key). The claim enforces it from the next claim on: see tables/job_limits and
-- functions/_take_limits. A new or changed rate starts with a full bucket (max_starts starts
-- at once); an unchanged one keeps its bucket. Lowering max_running below the jobs running
-- now stops nothing: no new job of the key starts until fewer than max_running run.
-- The first limit set builds the running-jobs indexes the claim counts through
-- (app_jobs._limit_indexes: enqueues and claims wait while they are built).

BEGIN;

CREATE FUNCTION app_jobs.set_job_limit(
  task text DEFAULT NULL,
  db_id uuid DEFAULT NULL,
  max_running integer DEFAULT NULL,
  max_starts integer DEFAULT NULL,
  per_period interval DEFAULT NULL)
RETURNS app_jobs.job_limits
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
-- The row may be locked by a claim for the length of its transaction: wait a little, not forever.
SET lock_timeout = '5s'
AS $$
DECLARE
  v_row app_jobs.job_limits;
BEGIN
  IF task = '' OR pg_catalog.length(task) > 255 THEN
    RAISE EXCEPTION USING
      ERRCODE = 'PJ222',
      MESSAGE = 'set_job_limit: task must be a non-empty text of at most 255 characters',
      DETAIL = pg_catalog.format('task = %s', pg_catalog.quote_literal(pg_catalog.left(task, 60))),
      HINT = 'Leave task NULL to limit every task of the tenant db_id.';
  END IF;
  IF max_running < 0 OR max_running > 1000000 THEN
    RAISE EXCEPTION USING
      ERRCODE = 'PJ223',
      MESSAGE = pg_catalog.format('set_job_limit: max_running must be between 0 and 1000000, got %s', max_running),
      HINT = 'Pass how many jobs of the key may run at once (0 holds them all back), or NULL for no concurrency limit.';
  END IF;
  IF (max_starts IS NULL) <> (per_period IS NULL) OR max_starts < 1 OR max_starts > 1000000
     OR per_period < interval '1 millisecond' OR per_period > interval '366 days' THEN
    RAISE EXCEPTION USING
      ERRCODE = 'PJ224',
      MESSAGE = 'set_job_limit: a rate is max_starts (1 to 1000000) starts per per_period (1 millisecond to 366 days), both given',
      DETAIL = pg_catalog.format('max_starts = %s, per_period = %s', coalesce(max_starts::text, 'NULL'), coalesce(per_period::text, 'NULL')),
      HINT = 'e.g. max_starts := 100, per_period := interval ''1 minute''; leave both NULL for no rate limit.';
  END IF;
  db_id := app_jobs._tenant(db_id, 'set_job_limit');  -- tenant isolation: a tenant limits only its own jobs
  IF pg_catalog.num_nonnulls(task, db_id) = 0 THEN
    RAISE EXCEPTION USING
      ERRCODE = 'PJ220',
      MESSAGE = 'set_job_limit: name what to limit: task, db_id (a tenant), or both',
      HINT = 'e.g. set_job_limit(task := ''send_email'', max_running := 5), set_job_limit(db_id := ''<tenant uuid>'', max_running := 20).';
  END IF;
  IF max_running IS NULL AND max_starts IS NULL THEN
    RAISE EXCEPTION USING
      ERRCODE = 'PJ221',
      MESSAGE = 'set_job_limit: give max_running, a rate (max_starts per per_period), or both',
      HINT = 'To lift a limit, call remove_job_limit with the same task and db_id.';
  END IF;
  -- The first limit builds the running-jobs indexes (SHARE lock of app_jobs.jobs): take that
  -- lock before the limit's row, so that no claim waits for the row while holding app_jobs.jobs.
  PERFORM pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtextextended('pgjobs.job_limits.indexes', 0));
  IF pg_catalog.to_regclass('app_jobs.jobs_running_task_idx') IS NULL
     OR pg_catalog.to_regclass('app_jobs.jobs_running_tenant_idx') IS NULL THEN
    LOCK TABLE app_jobs.jobs IN SHARE MODE;
  END IF;
  INSERT INTO app_jobs.job_limits AS l
         (database_id, task_identifier, max_running, max_starts, per_period, tokens, refilled_at)
  VALUES (db_id, task, max_running, max_starts, per_period, max_starts,
          CASE WHEN max_starts IS NOT NULL THEN pg_catalog.now() END)
  ON CONFLICT (database_id, task_identifier) DO UPDATE
     SET max_running = excluded.max_running,
         max_starts = excluded.max_starts,
         per_period = excluded.per_period,
         tokens = CASE WHEN (l.max_starts, l.per_period) IS NOT DISTINCT FROM (excluded.max_starts, excluded.per_period)
                       THEN l.tokens ELSE excluded.tokens END,
         refilled_at = CASE WHEN (l.max_starts, l.per_period) IS NOT DISTINCT FROM (excluded.max_starts, excluded.per_period)
                            THEN l.refilled_at ELSE excluded.refilled_at END,
         updated_at = pg_catalog.now(),
         set_by = session_user
  RETURNING l.* INTO v_row;
  PERFORM app_jobs._limit_indexes();  -- the first limit makes the running-jobs indexes
  RETURN v_row;
EXCEPTION WHEN lock_not_available THEN
  RAISE EXCEPTION USING
    ERRCODE = 'PJ225',
    MESSAGE = 'set_job_limit: the limit''s row or app_jobs.jobs was not free within 5 seconds',
    DETAIL = 'A transaction that called get_jobs (and met this limit) is still open, or, for the first limit set or the last removed, one holding app_jobs.jobs (its running-jobs indexes are built or dropped).',
    HINT = 'Retry; look for a long transaction in pg_stat_activity (state ''idle in transaction'').';
END;
$$;

REVOKE ALL ON FUNCTION app_jobs.set_job_limit(text, uuid, integer, integer, interval) FROM PUBLIC;

COMMENT ON FUNCTION app_jobs.set_job_limit(text, uuid, integer, integer, interval) IS
  'Sets the limits of task, of tenant db_id, or of task within tenant db_id (at least one given, else PJ220; under tenant isolation db_id is the session''s tenant): at most max_running (0-1000000) of their jobs running at once, buffered claims included, and/or at most max_starts starts per per_period (a token bucket: max_starts at once, refilled at that rate); at least one limit, else PJ221. Setting again replaces both limits of the key; a new or changed rate starts with a full bucket. Enforced by every claim, exactly, whatever the number of workers; a limited head of a named queue holds back its queue. Returns the limit. remove_job_limit lifts it.';

COMMIT;
