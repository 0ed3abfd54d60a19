-- Deploy pgjobs:functions/search_jobs to pg
-- requires: functions/list_jobs
-- requires: functions/_live_job_info
-- requires: functions/_finished_job_info
-- requires: tables/job_pauses
-- Jobs by what their payload holds, for the dashboard's filter. No index serves a payload
-- filter (an index on the hot table would cost every enqueue and claim WAL), so the cost is
-- bounded instead: every live job is read (app_jobs.jobs holds only waiting and running jobs),
-- and of history only the jobs finished within history_window (at most 7 days), through the
-- finished_at index of the day partitions that hold them. Callers run it under a
-- statement_timeout (the dashboard sets one on its connections).

BEGIN;

CREATE FUNCTION app_jobs.search_jobs(
  payload_contains jsonb DEFAULT NULL,
  payload_text text DEFAULT NULL,
  status text[] DEFAULT NULL,
  task text DEFAULT NULL,
  queue text DEFAULT NULL,
  db_id uuid DEFAULT NULL,
  correlation_id text DEFAULT NULL,
  history_window interval DEFAULT interval '1 day',
  row_limit integer DEFAULT 50,
  row_offset integer DEFAULT 0)
RETURNS SETOF app_jobs.job_info
LANGUAGE plpgsql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET plan_cache_mode = force_custom_plan
AS $$
DECLARE
  v_unknown text;
  v_window integer;
  v_pattern text;
  v_any boolean := search_jobs.status IS NULL;
  v_pending boolean := v_any OR 'pending' = ANY (search_jobs.status);
  v_scheduled boolean := v_any OR 'scheduled' = ANY (search_jobs.status);
  v_running boolean := v_any OR 'running' = ANY (search_jobs.status);
  v_retrying boolean := v_any OR 'retrying' = ANY (search_jobs.status);
  v_paused boolean := v_any OR 'paused' = ANY (search_jobs.status);
  v_finished boolean := v_any OR search_jobs.status && ARRAY['completed', 'failed', 'cancelled'];
BEGIN
  SELECT s INTO v_unknown
    FROM pg_catalog.unnest(search_jobs.status) AS s
   WHERE s IS NULL OR s NOT IN ('pending', 'scheduled', 'running', 'retrying', 'paused', 'completed', 'failed', 'cancelled')
   LIMIT 1;
  IF FOUND THEN
    RAISE EXCEPTION USING
      ERRCODE = 'PJ115',
      MESSAGE = pg_catalog.format('search_jobs: unknown status %s', coalesce(pg_catalog.quote_literal(v_unknown), 'NULL')),
      HINT = 'Statuses are pending, scheduled, running, retrying, paused, completed, failed and cancelled, e.g. status := ''{failed,retrying}''.';
  END IF;
  IF row_limit IS NULL OR row_limit < 1 OR row_limit > 1000 OR row_offset IS NULL OR row_offset < 0
     OR row_offset > 100000 THEN
    RAISE EXCEPTION USING
      ERRCODE = 'PJ116',
      MESSAGE = pg_catalog.format('search_jobs: row_limit must be between 1 and 1000 and row_offset between 0 and 100000, got %s and %s',
                                  coalesce(row_limit::text, 'NULL'), coalesce(row_offset::text, 'NULL')),
      HINT = 'Page with row_limit := 50, row_offset := 0, 50, 100, ...';
  END IF;
  IF history_window IS NULL OR history_window <= interval '0' OR history_window > interval '7 days' THEN
    RAISE EXCEPTION USING
      ERRCODE = 'PJ150',
      MESSAGE = pg_catalog.format('search_jobs: history_window must be a positive interval of at most 7 days, got %s',
                                  coalesce(history_window::text, 'NULL')),
      DETAIL = 'A payload filter has no index: history is searched only within a bounded time window.',
      HINT = 'Pass how far back finished jobs are searched, e.g. history_window := interval ''1 day''.';
  END IF;
  IF payload_contains IS NOT NULL AND pg_catalog.jsonb_typeof(payload_contains) NOT IN ('object', 'array') THEN
    RAISE EXCEPTION USING
      ERRCODE = 'PJ151',
      MESSAGE = pg_catalog.format('search_jobs: payload_contains must be a JSON object or array, got %s',
                                  pg_catalog.jsonb_typeof(payload_contains)),
      HINT = 'Pass the part of the payload to match, e.g. payload_contains := ''{"user": 7}''; use payload_text for a text search.';
  END IF;
  IF payload_text = '' OR pg_catalog.length(payload_text) > 200 THEN
    RAISE EXCEPTION USING
      ERRCODE = 'PJ151',
      MESSAGE = pg_catalog.format('search_jobs: payload_text must be 1 to 200 characters, got %s', pg_catalog.length(payload_text)),
      HINT = 'Pass NULL for no text search.';
  END IF;
  v_window := row_limit + row_offset;
  -- A substring of the payload's JSON text, case-insensitive; LIKE's wildcards are escaped.
  v_pattern := '%' || pg_catalog.replace(pg_catalog.replace(pg_catalog.replace(
                 payload_text, '\', '\\'), '%', '\%'), '_', '\_') || '%';

  RETURN QUERY
  SELECT (u.info).*
    FROM ((SELECT app_jobs._live_job_info(j) AS info
             FROM app_jobs.jobs AS j
            WHERE (search_jobs.payload_contains IS NULL OR j.payload @> search_jobs.payload_contains)
              AND (search_jobs.payload_text IS NULL OR j.payload::text ILIKE v_pattern)
              AND (search_jobs.db_id IS NULL OR j.database_id = search_jobs.db_id)
              AND (search_jobs.task IS NULL OR j.task_identifier = search_jobs.task)
              AND (search_jobs.queue IS NULL OR j.queue_name = search_jobs.queue)
              AND (search_jobs.correlation_id IS NULL OR j.correlation_id = search_jobs.correlation_id)
              AND (v_any
                   OR (v_running AND j.state = 'running')
                   -- paused (0.4.0): held back by a pause, parked or not yet
                   OR (v_paused AND j.state <> 'running' AND (j.state = 'paused'
                        OR EXISTS (SELECT 1 FROM app_jobs.job_pauses AS p
                                    WHERE (p.database_id IS NULL OR p.database_id = j.database_id)
                                      AND (p.queue_name IS NULL OR p.queue_name = j.queue_name)
                                      AND (p.task_identifier IS NULL OR p.task_identifier = j.task_identifier))))
                   OR ((v_retrying OR v_scheduled OR v_pending) AND j.state <> 'running' AND NOT (j.state = 'paused'
                        OR EXISTS (SELECT 1 FROM app_jobs.job_pauses AS p
                                    WHERE (p.database_id IS NULL OR p.database_id = j.database_id)
                                      AND (p.queue_name IS NULL OR p.queue_name = j.queue_name)
                                      AND (p.task_identifier IS NULL OR p.task_identifier = j.task_identifier)))
                       AND ((v_retrying AND j.last_error IS NOT NULL)
                            OR (v_scheduled AND j.last_error IS NULL AND j.run_at > pg_catalog.now())
                            OR (v_pending AND j.last_error IS NULL AND j.run_at <= pg_catalog.now()))))
            ORDER BY j.id DESC
            LIMIT v_window)
          UNION ALL
          (SELECT app_jobs._finished_job_info(h)
             FROM app_jobs.job_history AS h
            WHERE v_finished
              AND h.finished_at >= pg_catalog.now() - search_jobs.history_window
              AND (search_jobs.payload_contains IS NULL OR h.payload @> search_jobs.payload_contains)
              AND (search_jobs.payload_text IS NULL OR h.payload::text ILIKE v_pattern)
              AND (search_jobs.db_id IS NULL OR h.database_id = search_jobs.db_id)
              AND (search_jobs.task IS NULL OR h.task_identifier = search_jobs.task)
              AND (search_jobs.queue IS NULL OR h.queue_name = search_jobs.queue)
              AND (search_jobs.correlation_id IS NULL OR h.correlation_id = search_jobs.correlation_id)
              AND (v_any OR h.status = ANY (search_jobs.status))
            ORDER BY h.finished_at DESC, h.id DESC
            LIMIT v_window)) AS u
   ORDER BY (u.info).finished_at DESC NULLS FIRST, (u.info).id DESC
   LIMIT row_limit OFFSET row_offset;
END;
$$;

REVOKE ALL ON FUNCTION app_jobs.search_jobs(jsonb, text, text[], text, text, uuid, text, interval, integer, integer) FROM PUBLIC;

COMMENT ON FUNCTION app_jobs.search_jobs(jsonb, text, text[], text, text, uuid, text, interval, integer, integer) IS
  'list_jobs with a payload filter, at bounded cost: payload_contains (a JSON object or array the payload contains, jsonb @>) and/or payload_text (a case-insensitive substring of the payload''s JSON text), over every live job and the jobs finished within history_window (positive, at most 7 days; default 1 day). Other filters and the order as list_jobs; row_limit 1-1000, row_offset 0-100000. No index serves the payload: run it under a statement_timeout. Raises PJ115, PJ116, PJ150 (window), PJ151 (payload filter).';

COMMIT;
