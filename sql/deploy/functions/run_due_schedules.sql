-- Deploy pgjobs:functions/run_due_schedules to pg
-- requires: functions/run_due_schedules@v0.3.0
-- requires: functions/_next_run
-- requires: functions/_check_time
-- The scheduler: enqueues a job for every due fire time of every enabled schedule, and
-- returns the jobs. Any number of callers may run it at once (every worker, pg_cron, a
-- system cron): each due schedule row is taken with FOR UPDATE SKIP LOCKED, so callers
-- never wait for each other, and a row a caller committed is re-checked against its new
-- next_run_at, so a fire time is enqueued once. The unique index on (scheduled_job_id,
-- fire_time) of app_jobs.jobs makes a second job for a fire time impossible anyway.
-- Fire times missed while nothing ran it follow the schedule's missed_runs policy:
--   skip      fire times more than a minute late are dropped;
--   run_once  one job, for the latest due fire time;
--   backfill  a job for each due fire time, at most backfill_limit (the latest ones) and
--             none older than backfill_window.
-- The latest missed fire times are found by looking back from now over a span that grows
-- eightfold, so a long outage costs a few searches, not one per missed fire time.
-- 0.4.0: one schedule's failure never stops the others (it is skipped with a WARNING and
-- stays due); a backfill enqueues at most 10000 jobs per schedule and call and looks back at
-- most 10 years, whatever an older row says. What a schedule leaves out (max_attempts,
-- priority, queue_name, backoff, timeout: NULL) comes from the task's settings
-- (app_jobs.task_settings, one lookup per schedule fired), then the built-in defaults; the jobs get the schedule's
-- correlation_id. (tables/scheduled_jobs' 0.4.0 columns and functions/_task_defaults come
-- later in the plan; PL/pgSQL resolves them when the function runs, after the whole deploy.)

BEGIN;

CREATE OR REPLACE FUNCTION app_jobs.run_due_schedules()
RETURNS SETOF app_jobs.jobs
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v_now timestamptz := pg_catalog.now();
  v_schedule app_jobs.scheduled_jobs;
  v_limit integer;
  v_window interval;
  v_next timestamptz;
  v_fire timestamptz;
  v_fires timestamptz[];
  v_lo timestamptz;
  v_span interval;
  v_job app_jobs.jobs;
  v_defaults record;
  v_last_job bigint;
  v_last_fire timestamptz;
  v_state text;
  v_message text;
BEGIN
  FOR v_schedule IN
    SELECT s.*
      FROM app_jobs.scheduled_jobs AS s
     WHERE s.enabled AND s.next_run_at <= v_now
     ORDER BY s.next_run_at
       FOR UPDATE SKIP LOCKED
  LOOP
    -- Everything that could fail on a schedule's data is computed here, in a block that
    -- writes nothing (so it takes no subtransaction id): a schedule that fails is skipped
    -- with a WARNING and stays due, and the others run.
    BEGIN
      -- A next_run_at set by hand to a time no job may have (infinite, BC) is refused here.
      PERFORM app_jobs._check_time(v_schedule.next_run_at, pg_catalog.format('schedule %s: next_run_at', v_schedule.id));
      -- Its payload against the task's payload schema (issue 19; PJ190 skips it, WARNING).
      PERFORM app_jobs._check_job_payload(v_schedule.database_id, v_schedule.task_identifier,
                                          v_schedule.payload, pg_catalog.format('schedule %s: ', v_schedule.id));
      v_limit := CASE v_schedule.missed_runs
                   WHEN 'backfill' THEN least(coalesce(v_schedule.backfill_limit, 10000), 10000) ELSE 1 END;
      v_window := CASE v_schedule.missed_runs
                    WHEN 'skip' THEN interval '1 minute'
                    WHEN 'backfill' THEN least(v_schedule.backfill_window, interval '10 years') END;
      v_next := app_jobs._next_run(v_schedule.spec, v_schedule.next_run_at);
      IF v_next IS NULL OR v_next > v_now THEN
        v_fires := ARRAY[v_schedule.next_run_at];  -- the usual case: one fire time is due
      ELSE
        -- Fire times were missed: the latest v_limit of those after v_lo.
        v_lo := v_schedule.next_run_at - interval '1 microsecond';
        IF v_window IS NOT NULL THEN
          v_lo := greatest(v_lo, v_now - v_window - interval '1 microsecond');
        END IF;
        v_span := interval '1 second';
        LOOP
          v_fires := '{}';
          v_fire := greatest(v_lo, v_now - v_span);
          LOOP
            v_fire := app_jobs._next_run(v_schedule.spec, v_fire);
            EXIT WHEN v_fire IS NULL OR v_fire > v_now;
            v_fires := v_fires || v_fire;
          END LOOP;
          EXIT WHEN pg_catalog.cardinality(v_fires) >= v_limit OR v_now - v_span <= v_lo;
          -- Never further back than v_lo: v_now - v_span stays a valid time.
          v_span := least(v_span * 8, v_now - v_lo);
        END LOOP;
        v_fires := v_fires[greatest(pg_catalog.cardinality(v_fires) - v_limit + 1, 1):];
        v_next := app_jobs._next_run(v_schedule.spec, v_now);
      END IF;
      IF v_window IS NOT NULL THEN
        v_fires := ARRAY(SELECT f FROM pg_catalog.unnest(v_fires) AS f
                          WHERE f >= v_now - v_window ORDER BY f);
      END IF;
    EXCEPTION WHEN OTHERS THEN
      GET STACKED DIAGNOSTICS v_state = RETURNED_SQLSTATE, v_message = MESSAGE_TEXT;
      RAISE WARNING USING
        MESSAGE = pg_catalog.format('run_due_schedules: schedule %s (task %s) skipped: %s (SQLSTATE %s)',
                                    v_schedule.id, v_schedule.task_identifier, v_message, v_state),
        HINT = 'The other schedules ran. Fix the schedule (add_scheduled_job or an UPDATE of schedule_info) or disable it with app_jobs.enable_scheduled_job(id, false).';
      CONTINUE;
    END;

    v_last_job := NULL;
    v_last_fire := NULL;
    IF pg_catalog.cardinality(v_fires) > 0 THEN
      SELECT * INTO v_defaults
        FROM app_jobs._task_defaults(v_schedule.database_id, v_schedule.task_identifier);
    END IF;
    FOREACH v_fire IN ARRAY v_fires LOOP
      INSERT INTO app_jobs.jobs AS j (database_id, task_identifier, payload, queue_name, priority,
                                      max_attempts, run_at, scheduled_job_id, fire_time, state,
                                      correlation_id, backoff, timeout)
      VALUES (v_schedule.database_id, v_schedule.task_identifier, v_schedule.payload,
              coalesce(v_schedule.queue_name, v_defaults.queue_name),
              coalesce(v_schedule.priority, v_defaults.priority, 0),
              coalesce(v_schedule.max_attempts, v_defaults.max_attempts, 25), v_fire,
              v_schedule.id, v_fire, 'ready', v_schedule.correlation_id,
              coalesce(v_schedule.backoff, v_defaults.backoff),
          coalesce(v_schedule.timeout, v_defaults.timeout))
      ON CONFLICT (scheduled_job_id, fire_time) WHERE scheduled_job_id IS NOT NULL DO NOTHING
      RETURNING j.* INTO v_job;
      IF FOUND THEN
        v_last_job := v_job.id;
        v_last_fire := v_fire;
        RETURN NEXT v_job;
      END IF;
    END LOOP;
    UPDATE app_jobs.scheduled_jobs AS s
       SET next_run_at = v_next,
           last_run_at = coalesce(v_last_fire, s.last_run_at),
           last_job_id = coalesce(v_last_job, s.last_job_id)
     WHERE s.id = v_schedule.id;
  END LOOP;
END;
$$;

REVOKE ALL ON FUNCTION app_jobs.run_due_schedules() FROM PUBLIC;

COMMENT ON FUNCTION app_jobs.run_due_schedules() IS
  'Enqueues one job per due fire time of every enabled schedule (exactly once however many callers race; each job carries its fire_time) and returns them. Missed fire times follow each schedule''s missed_runs: skip (drop those more than a minute late), run_once (one job for the latest), backfill (one job each, within backfill_limit and backfill_window; at most 10000 per call). A schedule that cannot be evaluated is skipped with a WARNING; the others run. Run it every few seconds: workers do, or pg_cron, or pgjobs schedules tick.';

COMMIT;
