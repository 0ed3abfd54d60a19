-- Revert pgjobs:functions/list_jobs from pg
-- Back to the 0.4.0 definition (deploy/functions/list_jobs@v0.4.0.sql).

BEGIN;

CREATE OR REPLACE FUNCTION app_jobs.list_jobs(
  status text[] DEFAULT NULL,
  task text DEFAULT NULL,
  queue text DEFAULT NULL,
  db_id uuid DEFAULT NULL,
  correlation_id text DEFAULT NULL,
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
  v_any boolean := list_jobs.status IS NULL;
  v_pending boolean := v_any OR 'pending' = ANY (list_jobs.status);
  v_scheduled boolean := v_any OR 'scheduled' = ANY (list_jobs.status);
  v_running boolean := v_any OR 'running' = ANY (list_jobs.status);
  v_retrying boolean := v_any OR 'retrying' = ANY (list_jobs.status);
  v_paused boolean := v_any OR 'paused' = ANY (list_jobs.status);
  v_finished boolean := v_any OR list_jobs.status && ARRAY['completed', 'failed', 'cancelled'];
BEGIN
  db_id := app_jobs._tenant(db_id, 'list_jobs');  -- tenant isolation (issue 15)
  SELECT s INTO v_unknown
    FROM pg_catalog.unnest(list_jobs.status) AS s
   WHERE s IS NULL OR s NOT IN ('pending', 'scheduled', 'running', 'retrying', 'paused', 'completed', 'failed', 'cancelled')
   LIMIT 1;
  IF FOUND THEN
    RAISE EXCEPTION USING
      ERRCODE = 'PJ115',
      MESSAGE = pg_catalog.format('list_jobs: unknown status %s', coalesce(pg_catalog.quote_literal(v_unknown), 'NULL')),
      HINT = 'Statuses are pending, scheduled, running, retrying, paused, completed, failed and cancelled, e.g. status := ''{failed,retrying}''.';
  END IF;
  IF row_limit IS NULL OR row_limit < 1 OR row_limit > 10000 OR row_offset IS NULL OR row_offset < 0
     OR row_offset > 1000000 THEN
    RAISE EXCEPTION USING
      ERRCODE = 'PJ116',
      MESSAGE = pg_catalog.format('list_jobs: row_limit must be between 1 and 10000 and row_offset between 0 and 1000000, got %s and %s',
                                  coalesce(row_limit::text, 'NULL'), coalesce(row_offset::text, 'NULL')),
      HINT = 'Page with row_limit := 50, row_offset := 0, 50, 100, ...';
  END IF;
  v_window := row_limit + row_offset;

  RETURN QUERY
  SELECT (u.info).*
    FROM ((SELECT app_jobs._live_job_info(j) AS info
             FROM app_jobs.jobs AS j
            WHERE (list_jobs.db_id IS NULL OR j.database_id = list_jobs.db_id)
              AND (list_jobs.task IS NULL OR j.task_identifier = list_jobs.task)
              AND (list_jobs.queue IS NULL OR j.queue_name = list_jobs.queue)
              AND (list_jobs.correlation_id IS NULL OR j.correlation_id = list_jobs.correlation_id)
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
              AND (list_jobs.db_id IS NULL OR h.database_id = list_jobs.db_id)
              AND (list_jobs.task IS NULL OR h.task_identifier = list_jobs.task)
              AND (list_jobs.queue IS NULL OR h.queue_name = list_jobs.queue)
              AND (list_jobs.correlation_id IS NULL OR h.correlation_id = list_jobs.correlation_id)
              AND (v_any OR h.status = ANY (list_jobs.status))
            ORDER BY h.finished_at DESC, h.id DESC
            LIMIT v_window)) AS u
   ORDER BY (u.info).finished_at DESC NULLS FIRST, (u.info).id DESC
   LIMIT row_limit OFFSET row_offset;
END;
$$;

REVOKE ALL ON FUNCTION app_jobs.list_jobs(text[], text, text, uuid, text, integer, integer) FROM PUBLIC;

COMMENT ON FUNCTION app_jobs.list_jobs(text[], text, text, uuid, text, integer, integer) IS
  'Pages through jobs, live and finished, newest first: waiting and running jobs (newest id first), then finished ones (latest finished_at first). Filters (NULL = any, combined with AND): status (an array of pending, scheduled, running, retrying, paused, completed, failed, cancelled), task, queue, db_id (tenant), correlation_id. row_limit 1-10000 (default 50), row_offset (default 0). Returns app_jobs.job_info rows (attempt_log NULL: see find_job).';

COMMIT;
