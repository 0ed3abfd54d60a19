-- Deploy pgjobs:functions/run_due_schedules to pg
-- requires: tables/scheduled_jobs
-- requires: tables/jobs
-- requires: functions/_next_run
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

BEGIN;

CREATE FUNCTION app_jobs.run_due_schedules()
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
  v_last_job bigint;
  v_last_fire timestamptz;
BEGIN
  FOR v_schedule IN
    SELECT s.*
      FROM app_jobs.scheduled_jobs AS s
     WHERE s.enabled AND s.next_run_at <= v_now
     ORDER BY s.next_run_at
       FOR UPDATE SKIP LOCKED
  LOOP
    v_limit := CASE v_schedule.missed_runs
                 WHEN 'backfill' THEN coalesce(v_schedule.backfill_limit, 2147483647) ELSE 1 END;
    v_window := CASE v_schedule.missed_runs
                  WHEN 'skip' THEN interval '1 minute'
                  WHEN 'backfill' THEN v_schedule.backfill_window END;
    v_next := app_jobs._next_run(v_schedule.spec, v_schedule.next_run_at);
    IF v_next IS NULL OR v_next > v_now THEN
      v_fires := ARRAY[v_schedule.next_run_at];  -- the usual case: one fire time is due
    ELSE
      -- Fire times were missed: the latest v_limit of those after v_lo.
      v_lo := v_schedule.next_run_at - interval '1 microsecond';
      IF v_window IS NOT NULL THEN
        v_lo := greatest(v_lo, v_now - v_window - interval '1 microsecond');
      END IF;
      v_span := CASE WHEN v_limit = 2147483647 THEN v_now - v_lo ELSE interval '1 second' END;
      LOOP
        v_fires := '{}';
        v_fire := greatest(v_lo, v_now - v_span);
        LOOP
          v_fire := app_jobs._next_run(v_schedule.spec, v_fire);
          EXIT WHEN v_fire IS NULL OR v_fire > v_now;
          v_fires := v_fires || v_fire;
        END LOOP;
        EXIT WHEN pg_catalog.cardinality(v_fires) >= v_limit OR v_now - v_span <= v_lo;
        v_span := v_span * 8;
      END LOOP;
      v_fires := v_fires[greatest(pg_catalog.cardinality(v_fires) - v_limit + 1, 1):];
      v_next := app_jobs._next_run(v_schedule.spec, v_now);
    END IF;
    IF v_window IS NOT NULL THEN
      v_fires := ARRAY(SELECT f FROM pg_catalog.unnest(v_fires) AS f
                        WHERE f >= v_now - v_window ORDER BY f);
    END IF;

    v_last_job := NULL;
    v_last_fire := NULL;
    FOREACH v_fire IN ARRAY v_fires LOOP
      INSERT INTO app_jobs.jobs AS j (database_id, task_identifier, payload, queue_name, priority,
                                      max_attempts, run_at, scheduled_job_id, fire_time, state)
      VALUES (v_schedule.database_id, v_schedule.task_identifier, v_schedule.payload,
              v_schedule.queue_name, v_schedule.priority, v_schedule.max_attempts, v_fire,
              v_schedule.id, v_fire, 'ready')
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
  'Enqueues one job per due fire time of every enabled schedule (exactly once however many callers race; each job carries its fire_time) and returns them. Missed fire times follow each schedule''s missed_runs: skip (drop those more than a minute late), run_once (one job for the latest), backfill (one job each, within backfill_limit and backfill_window). Run it every few seconds: workers do, or pg_cron, or pgjobs schedules tick.';

COMMIT;
