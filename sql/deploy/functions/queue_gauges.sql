-- Deploy pgjobs:functions/queue_gauges to pg
-- requires: tables/queue_gauges_cache
-- requires: tables/jobs
-- Queue depth for metrics at a bounded cost. Every exporter (dashboards, workers) may call it
-- on every scrape: while the cached figures are younger than max_age they are returned as
-- they are; once older, the one caller that wins a try-advisory lock recounts (reading at
-- most max_rows ready jobs through the claim index's partial predicate) and the others return
-- the previous figures without waiting. So app_jobs.jobs is counted at most once per max_age.

BEGIN;

CREATE FUNCTION app_jobs.queue_gauges(
  max_age interval DEFAULT interval '15 seconds',
  max_rows integer DEFAULT 1000000)
RETURNS TABLE (
  task_identifier text,
  queue_name text,
  ready bigint,
  oldest_ready_age interval,
  exact boolean,
  computed_at timestamptz)
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v_computed_at timestamptz;
  v_now timestamptz := pg_catalog.clock_timestamp();
BEGIN
  IF max_age IS NULL OR max_age < interval '1 second' OR max_age > interval '1 day' THEN
    RAISE EXCEPTION USING
      ERRCODE = 'PJ150',
      MESSAGE = pg_catalog.format('queue_gauges: max_age must be between 1 second and 1 day, got %s',
                                  coalesce(max_age::text, 'NULL')),
      HINT = 'Pass how old the figures may be, e.g. max_age := interval ''15 seconds''.';
  END IF;
  IF max_rows IS NULL OR max_rows < 1 OR max_rows > 100000000 THEN
    RAISE EXCEPTION USING
      ERRCODE = 'PJ152',
      MESSAGE = pg_catalog.format('queue_gauges: max_rows must be between 1 and 100000000, got %s',
                                  coalesce(max_rows::text, 'NULL')),
      HINT = 'Pass how many ready jobs a refresh may read at most, e.g. max_rows := 1000000.';
  END IF;

  SELECT max(c.computed_at) INTO v_computed_at FROM app_jobs.queue_gauges_cache AS c;
  IF (v_computed_at IS NULL OR v_computed_at < v_now - max_age)
     AND pg_catalog.pg_try_advisory_xact_lock(pg_catalog.hashtextextended('pgjobs.queue_gauges', 0))
  THEN
    -- Another caller may have refreshed between our read and our lock: look again (a new
    -- snapshot, read committed).
    SELECT max(c.computed_at) INTO v_computed_at FROM app_jobs.queue_gauges_cache AS c;
    v_now := pg_catalog.clock_timestamp();
    IF v_computed_at IS NULL OR v_computed_at < v_now - max_age THEN
      DELETE FROM app_jobs.queue_gauges_cache;
      WITH ready AS (
        SELECT j.task_identifier, j.queue_name, j.run_at
          FROM app_jobs.jobs AS j
         WHERE j.state = 'ready'
         LIMIT max_rows + 1
      ), capped AS (
        SELECT (SELECT count(*) FROM ready) <= max_rows AS exact
      ), counted AS (
        SELECT r.task_identifier, r.queue_name, count(*) AS ready, min(r.run_at) AS oldest
          FROM ready AS r
         GROUP BY GROUPING SETS ((r.task_identifier, r.queue_name), ())
      )
      INSERT INTO app_jobs.queue_gauges_cache
             (task_identifier, queue_name, ready, oldest_ready_at, exact, computed_at)
      SELECT c.task_identifier, c.queue_name, c.ready, c.oldest, k.exact, v_now
        FROM counted AS c CROSS JOIN capped AS k;
      -- An empty table still gets its total row (the grouping set () yields none on no rows).
      IF NOT FOUND OR NOT EXISTS (SELECT 1 FROM app_jobs.queue_gauges_cache AS c
                                   WHERE c.task_identifier IS NULL) THEN
        INSERT INTO app_jobs.queue_gauges_cache
               (task_identifier, queue_name, ready, oldest_ready_at, exact, computed_at)
        VALUES (NULL, NULL, 0, NULL, true, v_now);
      END IF;
    END IF;
  END IF;

  RETURN QUERY
  SELECT c.task_identifier, c.queue_name, c.ready,
         pg_catalog.now() - c.oldest_ready_at, c.exact, c.computed_at
    FROM app_jobs.queue_gauges_cache AS c
   ORDER BY c.task_identifier NULLS FIRST, c.queue_name NULLS FIRST;
END;
$$;

REVOKE ALL ON FUNCTION app_jobs.queue_gauges(interval, integer) FROM PUBLIC;

COMMENT ON FUNCTION app_jobs.queue_gauges(interval, integer) IS
  'Ready jobs (due, claimable now) per task and queue, for metrics, counted at most once per max_age (1 second to 1 day; default 15 seconds) however many processes call it: the caller that wins a try-advisory lock once the figures are older recounts, reading at most max_rows (default 1000000) ready jobs; the others get the previous figures without waiting. Rows: task_identifier and queue_name (both NULL: the total), ready, oldest_ready_age (how long the oldest ready job has been due), exact (false: max_rows was reached and ready is a lower bound), computed_at. Raises PJ150 (max_age), PJ152 (max_rows).';

COMMIT;
