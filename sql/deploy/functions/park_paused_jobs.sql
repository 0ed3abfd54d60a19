-- Deploy pgjobs:functions/park_paused_jobs to pg
-- requires: tables/job_pauses
-- requires: functions/_park_paused
-- Parks a paused backlog ahead of the claims (pause and resume, 0.4.0). Claims park the paused
-- jobs they meet, at most 10,000 per call, and a claim that has parked that many returns what
-- it took so far: with a backlog of N paused jobs ahead of other jobs in claim order, those
-- jobs wait for about N / 10,000 claims. An operator (`pgjobs pause` does it) calls this in a
-- loop, each call its own short transaction, until it returns 0, so the workers' claims find
-- the backlog already parked. Each call parks at most max_jobs jobs, in claim order, skipping
-- (never waiting for) rows another transaction holds.

BEGIN;

CREATE FUNCTION app_jobs.park_paused_jobs(max_jobs integer DEFAULT 10000)
RETURNS integer
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v_parked integer := 0;
  v_start record;
BEGIN
  IF max_jobs IS NULL OR max_jobs < 1 OR max_jobs > 100000 THEN
    RAISE EXCEPTION USING
      ERRCODE = 'PJ185',
      MESSAGE = pg_catalog.format('park_paused_jobs: max_jobs must be between 1 and 100000, got %s', coalesce(max_jobs::text, 'NULL')),
      HINT = 'Call it in a loop with the default (10000) until it returns 0.';
  END IF;
  WHILE v_parked < max_jobs LOOP
    SELECT r.priority, r.run_at, r.id INTO v_start
      FROM app_jobs.jobs AS r
     WHERE r.state = 'ready'
       AND EXISTS (SELECT 1 FROM app_jobs.job_pauses AS p
                    WHERE (p.database_id IS NULL OR p.database_id = r.database_id)
                      AND (p.queue_name IS NULL OR p.queue_name = r.queue_name)
                      AND (p.task_identifier IS NULL OR p.task_identifier = r.task_identifier))
     ORDER BY r.priority, r.run_at, r.id
     LIMIT 1
       FOR UPDATE SKIP LOCKED;
    EXIT WHEN NOT FOUND;
    v_parked := v_parked + app_jobs._park_paused(v_start.priority, v_start.run_at, v_start.id);
  END LOOP;
  RETURN v_parked;
END;
$$;

REVOKE ALL ON FUNCTION app_jobs.park_paused_jobs(integer) FROM PUBLIC;

COMMENT ON FUNCTION app_jobs.park_paused_jobs(integer) IS
  'Parks (state paused, out of the claim index) up to about max_jobs (1-100000, default 10000) claimable jobs that a pause matches, in claim order, and returns how many; 0 when none is left. Call it in a loop after pause_jobs so that the workers'' claims find a large paused backlog already parked (they park what they meet, at most 10,000 per claim).';

COMMIT;
