-- Deploy pgjobs:functions/get_jobs to pg
-- requires: functions/get_jobs@v0.5.0
-- requires: functions/_sweep
-- requires: tables/sweep_clock
-- requires: functions/_lock_queue
-- requires: tables/jobs
-- requires: tables/job_pauses
-- requires: functions/_park_paused
-- requires: tables/job_limits
-- requires: functions/_take_limits
-- requires: tables/job_fairness
-- requires: functions/_fair_tenants
-- The claim, for one job or many (get_job is its one-job case). After the sweep's probe, it
-- walks the claimable jobs in exactly the order of jobs_claim_idx (priority, run_at, id) with
-- FOR UPDATE SKIP LOCKED, so racing workers never wait for or get the same job, and takes up
-- to batch_size of them with one UPDATE. started := false (a worker's buffer) leaves the jobs
-- unstarted (jobs.started_attempt): see start_jobs.
--
-- A job of a named queue also needs the queue, and a queue runs its jobs strictly in order:
-- whoever holds the queue starts the queue's head, its first due waiting job by (priority,
-- run_at, id), and never a later job it happened to find first. (Before 0.4.0 a claimer that
-- skipped the head, row-locked by another claimer that then found the queue busy, could take
-- the next job and the queue.) So once the queue is taken the head is looked up:
--   - the candidate is the head: it starts;
--   - the head is another job this worker serves and its row is free: the head starts, the
--     candidate is parked behind it;
--   - the head is of a task this worker does not serve: it is made claimable (and the
--     candidate parked), so a worker that serves it finds it; the queue is given back;
--   - the head's row is held by another transaction right now: the queue is given back and
--     the candidate stays claimable, so a later claim tries again (nothing is stranded).
-- At most one job per named queue is taken in a batch, and a queue seen busy is passed over
-- as a whole for the rest of the call.
--
-- Pauses (app_jobs.job_pauses, 0.4.0): the claim's first statement reads that small table (with no pause,
-- one read of an empty table and nothing else), which also holds its ACCESS SHARE lock until
-- the claim commits: pause_jobs takes the ACCESS EXCLUSIVE lock, so it waits for the claims in
-- flight and new claims wait for it, and no claim hands out a job that a committed pause
-- matches. With pauses in force each candidate is checked; a matched one is parked 'paused'
-- with the matched jobs among the next 1,000 in claim order (app_jobs._park_paused), at most
-- 10 such batches per call (the call then returns what it took, and the next one goes on).
-- A paused head of a named queue holds back its queue: the queue is given back and the
-- candidate parked 'blocked', as for a head this worker does not serve. So does a head
-- waiting for its dependencies (state waiting, 0.5.0), once its run_at has come.
--
-- Limits (app_jobs.job_limits, 0.5.0): the same statement reads that small table; with no limit,
-- nothing else happens (no limiter row is read or locked). With limits, each job about to be
-- taken (a candidate without a queue, or the head a queue would start) goes through
-- app_jobs._take_limits, which locks the limits that match it once per call, counts their
-- running jobs and takes a slot and a rate token of each. A job no limit matches touches no
-- limiter row: with at most 100 limits their keys are read once per call and such a job is
-- told in memory; with more, _take_limits finds its limits by three probes of job_limits_key. A job whose limit is full
-- stays claimable (a limit parks nothing, so a freed slot needs no wake-up); the full limit's
-- keys join v_full_tenants/v_full_tasks and the candidate query is run again passing over them
-- for the rest of the call, so a full limit costs one locked candidate per call, not one per
-- queued job. A limited head of a named queue holds back its queue: the queue is given back,
-- the head stays claimable and the candidate waits 'blocked' behind it, as for a head this
-- worker does not serve. At the end the call writes back the rate buckets it drew from.
--
-- Tenant fairness (app_jobs.job_fairness, 0.5.0, opt-in through set_tenant_fairness): the same
-- statement reads that one-row table. When it has its row, the candidates come in rounds instead
-- of oldest first: a round takes the lowest priority p with a claimable job, lists the next
-- tenants with claimable jobs of priority p after the cursor (app_jobs._fair_tenants, a loose
-- scan of jobs_fair_idx: one index descent per tenant listed), and walks their jobs of
-- priority p interleaved: each tenant's first job (oldest first), then each tenant's second,
-- and so on. Everything else (pauses, queues, limits, SKIP LOCKED) is as above. Rounds go on
-- at priority p while they find jobs, and move to the next priority only when every tenant's
-- jobs of priority p were seen: never across priorities, and a tenant's jobs, hence a named
-- queue's, keep their order. At most 20 rounds per call. The cursor moves to the tenant of the
-- last job taken, and the call stores it in job_fairness unless another claim holds that row
-- (it never waits for it), so the next call starts with the next tenant.
--
-- The common case (0.6.0): with no pause, limit or fairness in force, the claim is two
-- plain statements and the loop is not entered (for a batch of 100 it cost a fetch, a few
-- tests and an array append per job). The first reads and locks the candidates (the same
-- order, filter and SKIP LOCKED as the loop's query); none found, the call returns. When none
-- of them belongs to a named queue, the second takes them all: for one job (get_job) a plain
-- UPDATE ... RETURNING, for more the same UPDATE with its rows returned in claim order. When
-- one belongs to a named queue, the loop runs as described above (it locks its candidates
-- again: rows this transaction holds are not skipped) and the second statement takes the
-- jobs the loop chose. The loop's variables are set only then: a PL/pgSQL default is an
-- expression compiled again in every transaction, and each call of get_job is one. Callgrind,
-- one job per transaction (get_job + complete_job): 1.36M instructions with the two
-- statements and defaults of 0.5.0, 1.32M with one statement taking the candidates it read
-- (common table expressions, a sort and two subplans), and, the claim skipping the sweep's
-- probe, 980,000 with that statement and 937,000 with the two plain ones.

BEGIN;

CREATE OR REPLACE FUNCTION app_jobs.get_jobs(
  worker_id text,
  task_identifiers text[] DEFAULT NULL,
  job_expiry interval DEFAULT interval '4 hours',
  batch_size integer DEFAULT 100,
  started boolean DEFAULT true)
RETURNS SETOF app_jobs.jobs
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
-- Its statements take arrays built during the call: with custom plans (the default) the
-- planner saw a one-element array each time, judged the generic plan dearer and planned the
-- candidate query and the claim's UPDATE again on every call (215 us of a 780 us call at 10
-- clients). Their generic plans are the same index scans (tests/sql/test_claim.py).
SET plan_cache_mode = force_generic_plan
AS $$
DECLARE
  -- The loop's variables have no defaults: they are set where the loop starts (see the
  -- paragraph at the top on the common case).
  v_taken bigint[];
  -- Queues handled or seen busy during this call: their jobs are passed over as a whole.
  v_busy_tenants uuid[];
  v_busy_queues text[];
  v_need integer;
  v_seen integer;
  v_job record;
  v_head bigint;
  v_head_task text;
  v_head_free boolean;
  v_head_state text;
  -- The head holds its queue back (paused, or waiting for its dependencies).
  v_head_held boolean;
  v_paused boolean;
  v_sweep boolean;
  v_park_rounds integer;
  -- The pauses in force, read once (only when there are any): the keys of each.
  v_pause_tenants uuid[];
  v_pause_queues text[];
  v_pause_tasks text[];
  v_cand record;
  -- Limits (only when there are any): the limits this call touched (id, running slots left,
  -- starts left: see app_jobs._take_limits) and the keys of the full ones, passed over.
  v_limited boolean;
  v_ok boolean;
  v_new_full boolean;
  v_requery boolean;
  v_lim_ids bigint[];
  v_lim_room integer[];
  v_lim_tokens double precision[];
  v_full_tenants uuid[];
  v_full_tasks text[];
  -- The keys of the limits, read once when there are at most 100 limits (else each job's
  -- limits are looked up by key in _take_limits): the tasks and the tenants some limit names.
  -- A job whose task and tenant are named by none is matched by no limit, which a plain
  -- expression tells (no query per job); one named goes to _take_limits, which decides.
  v_limit_keys_read boolean;
  v_limit_tenants uuid[];
  v_limit_tasks text[];
  -- Tenant fairness (only when it is on): the round's priority, tenants and jobs per tenant,
  -- the rotation's cursor (the tenant served last) and the candidates' cursor.
  v_fair boolean;
  v_cur refcursor;
  v_prio integer;
  v_next_prio integer;
  v_cursor uuid;
  v_cursor_read uuid;
  v_tenants uuid[];
  v_round bigint[];
  v_per_tenant integer;
  v_rounds integer;
  v_round_start integer;
  -- Whether the claim goes through the loop: pauses, limits or fairness in force, or the
  -- common case's statement met a named queue or found nothing.
  v_loop boolean;
  -- The common case's candidates include one of a named queue.
  v_queued boolean;
  -- A one-job claim's row, as one composite column (see the one-job UPDATEs below).
  v_claimed record;
BEGIN
  -- One test for the common case (a valid call); the message says which argument is wrong.
  IF worker_id IS NULL OR worker_id = '' OR pg_catalog.length(worker_id) > 200
     OR job_expiry IS NULL OR job_expiry <= interval '0' OR job_expiry > interval '100 years'
     OR batch_size IS NULL OR batch_size < 1 OR batch_size > 10000 THEN
    IF worker_id IS NULL OR worker_id = '' OR pg_catalog.length(worker_id) > 200 THEN
      RAISE EXCEPTION USING
        ERRCODE = 'PJ102',
        MESSAGE = 'get_jobs: worker_id must be a non-empty text of at most 200 characters',
        DETAIL = pg_catalog.format('worker_id = %s', coalesce(pg_catalog.quote_literal(pg_catalog.left(worker_id, 60)), 'NULL')),
        HINT = 'Pass a name that identifies this worker process, e.g. worker_id := ''host-1:4242''; complete_job and fail_job need the same one.';
    END IF;
    IF job_expiry IS NULL OR job_expiry <= interval '0' OR job_expiry > interval '100 years' THEN
      RAISE EXCEPTION USING
        ERRCODE = 'PJ105',
        MESSAGE = pg_catalog.format('get_jobs: job_expiry must be a positive interval of at most 100 years, got %s', coalesce(job_expiry::text, 'NULL')),
        HINT = 'Pass how long a lock without a live worker lease stays valid, or leave it out for 4 hours.';
    END IF;
    IF batch_size IS NULL OR batch_size < 1 OR batch_size > 10000 THEN
      RAISE EXCEPTION USING
        ERRCODE = 'PJ130',
        MESSAGE = pg_catalog.format('get_jobs: batch_size must be between 1 and 10000, got %s', coalesce(batch_size::text, 'NULL')),
        HINT = 'Pass how many jobs this worker can start now, e.g. its free slots.';
    END IF;
  END IF;

  -- Pauses, limits and fairness in force: read by every claim, so a pause or a limit holds
  -- from the next claim on.
  SELECT EXISTS (SELECT 1 FROM app_jobs.job_pauses),
         EXISTS (SELECT 1 FROM app_jobs.job_limits),
         EXISTS (SELECT 1 FROM app_jobs.job_fairness)
    INTO v_paused, v_limited, v_fair;
  -- The sweep's probe (app_jobs._sweep), at most once per 10 ms per database (0.6.0): on the
  -- clock app_jobs.sweep_clock (ms since the epoch of the last probe), one claim that finds
  -- it older elects itself with a try-advisory lock (the others skip), advances it and
  -- probes; so whatever the number of claims, the database runs the probe at most 100 times
  -- a second, and a due job, a lapsed lease or a stale lock waits at most 10 ms longer. Five
  -- index probes were a tenth of a one-job claim and finish. With nothing to sweep, as almost
  -- always, the claim skips calling _sweep too (a function call with its own search_path
  -- costs more than the probe). Each test reads one end of a small partial index or table;
  -- they ask what _sweep's EXISTS ask (a step added there needs its test here). Written as
  -- min() rather than EXISTS (x < bound): as a generic plan, with the bound unknown, EXISTS
  -- chose a scan of the whole table once many jobs ran (3 ms with 10,000 running), min()
  -- always reads the index's end.
  IF pg_catalog.date_part('epoch', pg_catalog.now()) * 1000
       - coalesce(pg_catalog.pg_sequence_last_value('app_jobs.sweep_clock'::pg_catalog.regclass), 0) >= 10
     AND pg_catalog.pg_try_advisory_xact_lock(pg_catalog.hashtextextended('pgjobs.sweep_clock', 0)) THEN
    PERFORM pg_catalog.setval('app_jobs.sweep_clock'::pg_catalog.regclass,
                              (pg_catalog.date_part('epoch', pg_catalog.now()) * 1000)::bigint);
    SELECT (SELECT min(j.locked_at) FROM app_jobs.jobs AS j WHERE j.state = 'running')
             < pg_catalog.now() - job_expiry
           OR (SELECT min(w.lease_expires_at) FROM app_jobs.workers AS w) < pg_catalog.now()
           OR (SELECT min(q.locked_at) FROM app_jobs.job_queue_locks AS q)
                < pg_catalog.now() - job_expiry
           OR EXISTS (SELECT 1 FROM app_jobs.job_queue_wakes)
           OR (SELECT min(s.run_at) FROM app_jobs.jobs AS s WHERE s.state = 'scheduled')
                <= pg_catalog.now()
      INTO v_sweep;
    IF v_sweep THEN
      PERFORM app_jobs._sweep(job_expiry);
    END IF;
  END IF;
  v_loop := v_paused OR v_limited OR v_fair;
  <<attempt>>
  LOOP
    IF v_loop THEN
      -- The loop (see the paragraphs at the top).
      v_taken := '{}'::bigint[];
      v_busy_tenants := '{}'::uuid[];
      v_busy_queues := '{}'::text[];
      v_park_rounds := 0;
      v_requery := false;
      v_lim_ids := '{}'::bigint[];
      v_lim_room := '{}'::integer[];
      v_lim_tokens := '{}'::double precision[];
      v_full_tenants := '{}'::uuid[];
      v_full_tasks := '{}'::text[];
      v_limit_keys_read := false;
      v_rounds := 0;
      IF v_paused THEN
        SELECT pg_catalog.array_agg(p.database_id), pg_catalog.array_agg(p.queue_name),
               pg_catalog.array_agg(p.task_identifier)
          INTO v_pause_tenants, v_pause_queues, v_pause_tasks
          FROM app_jobs.job_pauses AS p;
      END IF;
      IF v_limited THEN
        SELECT pg_catalog.count(*) <= 100,
               coalesce(pg_catalog.array_agg(l.database_id) FILTER (WHERE l.database_id IS NOT NULL), '{}'),
               coalesce(pg_catalog.array_agg(l.task_identifier) FILTER (WHERE l.task_identifier IS NOT NULL), '{}')
          INTO v_limit_keys_read, v_limit_tenants, v_limit_tasks
          FROM (SELECT k.database_id, k.task_identifier FROM app_jobs.job_limits AS k LIMIT 101) AS l;
      END IF;
      IF v_fair THEN
        SELECT f.last_served INTO v_cursor FROM app_jobs.job_fairness AS f;
        v_cursor_read := v_cursor;
      END IF;

      <<claim>>
      LOOP
        v_need := batch_size - pg_catalog.cardinality(v_taken);
        v_seen := 0;
        IF v_fair THEN
          -- A fair round (see the paragraph above): the tenants after the cursor at priority
          -- v_prio, their jobs interleaved by rank within each tenant.
          IF v_prio IS NULL THEN
            SELECT j.priority INTO v_prio FROM app_jobs.jobs AS j
             WHERE j.state = 'ready'
               AND (get_jobs.task_identifiers IS NULL OR j.task_identifier = ANY (get_jobs.task_identifiers))
             ORDER BY j.priority, j.run_at, j.id LIMIT 1;
            EXIT claim WHEN v_prio IS NULL;
          END IF;
          v_tenants := app_jobs._fair_tenants(v_prio, v_cursor, v_need + 8);
          v_per_tenant := (v_need + 8 + pg_catalog.cardinality(v_tenants) - 1) / GREATEST(pg_catalog.cardinality(v_tenants), 1);
          v_round_start := pg_catalog.cardinality(v_taken);
          -- The round's order first (no lock), then the candidates locked in that order: a join
          -- of the jobs to the list would be planned (generically) as a hash of the whole table.
          SELECT pg_catalog.array_agg(c.id ORDER BY c.rank, t.pos) INTO v_round
            FROM ROWS FROM (pg_catalog.unnest(v_tenants)) WITH ORDINALITY AS t (d, pos)
           CROSS JOIN LATERAL (
             SELECT r.id, pg_catalog.row_number() OVER (ORDER BY r.run_at, r.id) AS rank
               FROM app_jobs.jobs AS r
              WHERE r.state = 'ready' AND r.priority = v_prio AND r.database_id = t.d
                AND (get_jobs.task_identifiers IS NULL OR r.task_identifier = ANY (get_jobs.task_identifiers))
                AND (r.queue_name IS NULL
                     OR NOT EXISTS (SELECT 1 FROM ROWS FROM (pg_catalog.unnest(v_busy_tenants), pg_catalog.unnest(v_busy_queues)) AS b (t, q)
                                     WHERE b.t = r.database_id AND b.q = r.queue_name))
                AND r.id <> ALL (v_taken)
                AND (pg_catalog.cardinality(v_full_tasks) = 0
                     OR NOT EXISTS (SELECT 1 FROM ROWS FROM (pg_catalog.unnest(v_full_tenants), pg_catalog.unnest(v_full_tasks)) AS f (t, k)
                                     WHERE (f.t IS NULL OR f.t = r.database_id) AND (f.k IS NULL OR f.k = r.task_identifier)))
              ORDER BY r.run_at, r.id
              LIMIT v_per_tenant) AS c;
          OPEN v_cur FOR
            SELECT j.id, j.database_id, j.queue_name, j.task_identifier
              FROM app_jobs.jobs AS j
             WHERE j.id = ANY (v_round) AND j.state = 'ready'
             ORDER BY pg_catalog.array_position(v_round, j.id)
             LIMIT v_need
               FOR UPDATE SKIP LOCKED;
        ELSE
        -- The common case's candidates (in the claim's statement below) are this query less
        -- the busy and full lists: keep them in step. Only the columns the claim needs: a
        -- narrow target keeps the ordered index scan the cheapest plan even with stale
        -- statistics after a burst of enqueues (the task is for the limits' check;
        -- tests/sql/test_limits.py keeps the plan).
        OPEN v_cur FOR
          SELECT j.id, j.database_id, j.queue_name, j.task_identifier
            FROM app_jobs.jobs AS j
           WHERE j.state = 'ready'
             AND (get_jobs.task_identifiers IS NULL OR j.task_identifier = ANY (get_jobs.task_identifiers))
             AND (j.queue_name IS NULL
                  OR NOT EXISTS (SELECT 1 FROM ROWS FROM (pg_catalog.unnest(v_busy_tenants), pg_catalog.unnest(v_busy_queues)) AS b (t, q)
                                  WHERE b.t = j.database_id AND b.q = j.queue_name))
             AND j.id <> ALL (v_taken)
             AND (pg_catalog.cardinality(v_full_tasks) = 0
                  OR NOT EXISTS (SELECT 1 FROM ROWS FROM (pg_catalog.unnest(v_full_tenants), pg_catalog.unnest(v_full_tasks)) AS f (t, k)
                                  WHERE (f.t IS NULL OR f.t = j.database_id) AND (f.k IS NULL OR f.k = j.task_identifier)))
           ORDER BY j.priority, j.run_at, j.id
           LIMIT v_need
             FOR UPDATE SKIP LOCKED;
        END IF;
        LOOP
          FETCH v_cur INTO v_job;
          EXIT WHEN NOT FOUND;
          v_seen := v_seen + 1;
          IF v_paused THEN
            -- Pauses in force (never otherwise: the candidate query stays as narrow as before).
            SELECT c.task_identifier, c.priority, c.run_at INTO v_cand
              FROM app_jobs.jobs AS c WHERE c.id = v_job.id;
            IF EXISTS (
                 SELECT 1 FROM ROWS FROM (pg_catalog.unnest(v_pause_tenants), pg_catalog.unnest(v_pause_queues),
                                          pg_catalog.unnest(v_pause_tasks)) AS p (t, q, k)
                  WHERE (p.t IS NULL OR p.t = v_job.database_id)
                    AND (p.q IS NULL OR p.q = v_job.queue_name)
                    AND (p.k IS NULL OR p.k = v_cand.task_identifier)) THEN
              -- Paused: park it and the next matched jobs, so later claims no longer meet them.
              EXIT claim WHEN v_park_rounds >= 10;
              v_park_rounds := v_park_rounds + 1;
              PERFORM app_jobs._park_paused(v_cand.priority, v_cand.run_at, v_job.id);
              CONTINUE;
            END IF;
          END IF;
          IF v_job.queue_name IS NULL THEN
            IF v_limited AND (NOT v_limit_keys_read OR v_job.task_identifier = ANY (v_limit_tasks) OR v_job.database_id = ANY (v_limit_tenants)) THEN
              SELECT * INTO v_lim_ids, v_lim_room, v_lim_tokens, v_full_tenants, v_full_tasks, v_ok, v_new_full
                FROM app_jobs._take_limits(v_job.database_id, v_job.task_identifier, v_lim_ids, v_lim_room,
                                           v_lim_tokens, v_full_tenants, v_full_tasks);
              IF NOT v_ok THEN
                -- Its limit is full: it stays claimable; the query is run again without that limit's jobs.
                v_requery := v_new_full;
                EXIT WHEN v_requery;
                CONTINUE;
              END IF;
            END IF;
            v_taken := v_taken || v_job.id;
            CONTINUE;
          END IF;
          -- One job per queue and call: later candidates of a queue handled in this loop (the
          -- query above was planned before) are passed over.
          CONTINUE WHEN EXISTS (
            SELECT 1 FROM ROWS FROM (pg_catalog.unnest(v_busy_tenants), pg_catalog.unnest(v_busy_queues)) AS b (t, q)
             WHERE b.t = v_job.database_id AND b.q = v_job.queue_name);
          v_busy_tenants := v_busy_tenants || v_job.database_id;
          v_busy_queues := v_busy_queues || v_job.queue_name;

          CONTINUE WHEN NOT app_jobs._lock_queue(v_job.database_id, v_job.queue_name, get_jobs.worker_id, v_job.id);

          -- The queue is ours (its lock row inserted by this transaction): start its head.
          SELECT h.id, h.task_identifier, h.state INTO v_head, v_head_task, v_head_state
            FROM app_jobs.jobs AS h
           WHERE h.database_id = v_job.database_id
             AND h.queue_name = v_job.queue_name
             AND (h.state IN ('ready', 'blocked', 'paused') OR (h.state IN ('scheduled', 'waiting') AND h.run_at <= pg_catalog.now()))
           ORDER BY h.priority, h.run_at, h.id
           LIMIT 1;
          IF v_head = v_job.id THEN
            IF v_limited AND (NOT v_limit_keys_read OR v_head_task = ANY (v_limit_tasks) OR v_job.database_id = ANY (v_limit_tenants)) THEN
              SELECT * INTO v_lim_ids, v_lim_room, v_lim_tokens, v_full_tenants, v_full_tasks, v_ok, v_new_full
                FROM app_jobs._take_limits(v_job.database_id, v_head_task, v_lim_ids, v_lim_room,
                                           v_lim_tokens, v_full_tenants, v_full_tasks);
              IF NOT v_ok THEN
                -- A limited head holds back its queue: give the queue back; the head stays claimable.
                DELETE FROM app_jobs.job_queue_locks AS l
                 WHERE l.database_id = v_job.database_id AND l.queue_name = v_job.queue_name
                   AND l.locked_by = get_jobs.worker_id;
                v_requery := v_new_full;
                EXIT WHEN v_requery;
                CONTINUE;
              END IF;
            END IF;
            v_taken := v_taken || v_job.id;
            CONTINUE;
          END IF;

          PERFORM 1
             FROM app_jobs.jobs AS h
            WHERE h.id = v_head
              AND h.database_id = v_job.database_id
              AND h.queue_name = v_job.queue_name
              AND h.state <> 'running'
              FOR UPDATE SKIP LOCKED;
          v_head_free := FOUND;
          v_head_held := v_head_state IN ('paused', 'waiting');
          -- A paused head (parked, or matched by a pause) holds back its queue.
          IF v_head_free AND v_paused AND NOT v_head_held AND EXISTS (
               SELECT 1 FROM ROWS FROM (pg_catalog.unnest(v_pause_tenants), pg_catalog.unnest(v_pause_queues),
                                        pg_catalog.unnest(v_pause_tasks)) AS p (t, q, k)
                WHERE (p.t IS NULL OR p.t = v_job.database_id)
                  AND (p.q IS NULL OR p.q = v_job.queue_name)
                  AND (p.k IS NULL OR p.k = v_head_task)) THEN
            UPDATE app_jobs.jobs AS j SET state = 'paused' WHERE j.id = v_head;
            v_head_held := true;
          END IF;
          IF v_head_free AND NOT v_head_held AND (get_jobs.task_identifiers IS NULL OR v_head_task = ANY (get_jobs.task_identifiers)) THEN
            v_ok := true;
            IF v_limited AND (NOT v_limit_keys_read OR v_head_task = ANY (v_limit_tasks) OR v_job.database_id = ANY (v_limit_tenants)) THEN
              SELECT * INTO v_lim_ids, v_lim_room, v_lim_tokens, v_full_tenants, v_full_tasks, v_ok, v_new_full
                FROM app_jobs._take_limits(v_job.database_id, v_head_task, v_lim_ids, v_lim_room,
                                           v_lim_tokens, v_full_tenants, v_full_tasks);
              v_requery := v_new_full;
            END IF;
            IF v_ok THEN
              UPDATE app_jobs.jobs AS j SET state = 'blocked' WHERE j.id = v_job.id;
              v_taken := v_taken || v_head;
              CONTINUE;
            END IF;
            -- A limited head: handled below as a head this worker does not serve.
          END IF;

          -- Not ours to start: give the queue back (this transaction inserted its lock row).
          DELETE FROM app_jobs.job_queue_locks AS l
           WHERE l.database_id = v_job.database_id AND l.queue_name = v_job.queue_name
             AND l.locked_by = get_jobs.worker_id;
          IF v_head_free AND v_head_held THEN
            -- The head is paused: the candidate waits behind it until resume_jobs. A head waiting
            -- for its dependencies (0.5.0) holds the queue back the same way, until it runs or
            -- is cancelled (app_jobs._settle_dependants wakes the queue then).
            UPDATE app_jobs.jobs AS j SET state = 'blocked' WHERE j.id = v_job.id;
          ELSIF v_head_free THEN
            -- The head is of a task this worker does not serve, or its limit is full: it becomes
            -- the queue's claimable job (a worker that serves it finds it, a claim starts it once
            -- its limit has room) and the candidate waits behind it.
            UPDATE app_jobs.jobs AS j SET state = 'ready' WHERE j.id = v_head AND j.state <> 'ready';
            UPDATE app_jobs.jobs AS j SET state = 'blocked' WHERE j.id = v_job.id;
          END IF;
          -- Otherwise the head's row is held by another transaction this instant: the candidate
          -- stays claimable and a later claim tries the queue again.
          EXIT WHEN v_requery;
        END LOOP;
        CLOSE v_cur;
        IF v_fair THEN
          -- The cursor: the tenant of the last job taken when the batch is full, else the last
          -- tenant listed (each listed tenant gave what it had, up to v_per_tenant).
          IF pg_catalog.cardinality(v_taken) >= batch_size AND pg_catalog.cardinality(v_taken) > v_round_start THEN
            SELECT j.database_id INTO v_cursor FROM app_jobs.jobs AS j
             WHERE j.id = v_taken[pg_catalog.cardinality(v_taken)];
          ELSIF pg_catalog.cardinality(v_tenants) > 0 THEN
            v_cursor := v_tenants[pg_catalog.cardinality(v_tenants)];
          END IF;
        END IF;
        IF v_requery THEN
          -- A limit became full: run the candidate query again without its jobs.
          v_requery := false;
          CONTINUE claim;
        END IF;
        IF v_fair THEN
          EXIT WHEN pg_catalog.cardinality(v_taken) >= batch_size;
          v_rounds := v_rounds + 1;
          EXIT WHEN v_rounds >= 20;
          IF v_seen = 0 AND pg_catalog.cardinality(v_tenants) < v_need + 8 THEN
            -- Every tenant's jobs of this priority were seen: the next priority.
            SELECT j.priority INTO v_next_prio FROM app_jobs.jobs AS j
             WHERE j.state = 'ready' AND j.priority > v_prio
               AND (get_jobs.task_identifiers IS NULL OR j.task_identifier = ANY (get_jobs.task_identifiers))
             ORDER BY j.priority, j.run_at, j.id LIMIT 1;
            EXIT WHEN v_next_prio IS NULL;
            v_prio := v_next_prio;
          END IF;
          CONTINUE claim;
        END IF;
        EXIT WHEN v_seen < v_need OR pg_catalog.cardinality(v_taken) >= batch_size;
      END LOOP;

      IF v_fair AND v_cursor IS DISTINCT FROM v_cursor_read THEN
        -- Store the rotation's cursor, unless another claim holds the row (never wait for it).
        UPDATE app_jobs.job_fairness AS f SET last_served = v_cursor
         WHERE f.id IN (SELECT g.id FROM app_jobs.job_fairness AS g FOR UPDATE SKIP LOCKED);
      END IF;

      IF pg_catalog.cardinality(v_lim_ids) > 0 THEN
        -- The rate buckets this call drew from (their rows are locked by this transaction).
        UPDATE app_jobs.job_limits AS l
           SET tokens = GREATEST(0, b.tokens),
               refilled_at = GREATEST(l.refilled_at, pg_catalog.now())
          FROM ROWS FROM (pg_catalog.unnest(v_lim_ids), pg_catalog.unnest(v_lim_tokens)) AS b (id, tokens)
         WHERE l.id = b.id AND b.tokens IS NOT NULL;
      END IF;

      IF pg_catalog.cardinality(v_taken) = 0 THEN
        RETURN;
      END IF;
    END IF;
    IF v_taken IS NULL AND get_jobs.batch_size = 1 THEN
      -- One job (get_job, or a batch of one) in the common case: the candidate chosen,
      -- locked and taken in one statement, as the statements below do in two. A candidate
      -- of a named queue is not taken here (the UPDATE's queue test), nor is anything when
      -- nothing is due: the statements below then decide, as for a batch (the candidate
      -- stays locked by this transaction, which they do not skip). One statement fewer per
      -- claim of a job without a queue (0.6.0; `make bench-cpu`, steady: a get_job and
      -- complete_job 821,000 to 790,000 instructions), one more when the candidate has a
      -- queue or nothing is due. The UPDATE returns the row as one composite value (RETURNING
      -- j), handed back with RETURN NEXT, not its 32 columns (RETURNING j.*) to RETURN QUERY:
      -- PostgreSQL builds each plan node's row type for every execution, and a 32-column
      -- RETURNING was 2% of a get_job and complete_job (`make bench-cpu`, steady:
      -- 789,800 to 772,900 instructions). The same row reaches the caller.
      UPDATE app_jobs.jobs AS j
         SET state = 'running',
             first_started_at = coalesce(j.first_started_at, pg_catalog.now()),
             locked_by = get_jobs.worker_id,
             locked_at = pg_catalog.now(),
             attempts = j.attempts + 1,
             started_attempt = CASE WHEN get_jobs.started IS NOT FALSE THEN j.attempts + 1 END,
             updated_at = pg_catalog.now()
       WHERE j.id = (SELECT c.id
                       FROM app_jobs.jobs AS c
                      WHERE c.state = 'ready'
                        AND (get_jobs.task_identifiers IS NULL OR c.task_identifier = ANY (get_jobs.task_identifiers))
                      ORDER BY c.priority, c.run_at, c.id
                      LIMIT 1
                        FOR UPDATE SKIP LOCKED)
         AND j.queue_name IS NULL
      RETURNING j AS job INTO v_claimed;
      IF FOUND THEN
        RETURN NEXT v_claimed.job;
        RETURN;
      END IF;
    END IF;
    IF v_taken IS NULL THEN
      -- The common case: the candidates, in claim order and locked (the loop's query without
      -- the busy-queue and full-limit lists, empty then: keep the two in step, the same
      -- state, task filter, order and SKIP LOCKED). None: nothing is due. One of a named
      -- queue: nothing is taken here and the loop decides (it locks its candidates again:
      -- rows this transaction holds are not skipped).
      SELECT pg_catalog.array_agg(c.id), pg_catalog.bool_or(c.queue_name IS NOT NULL)
        INTO v_taken, v_queued
        FROM (SELECT j.id, j.queue_name
                FROM app_jobs.jobs AS j
               WHERE j.state = 'ready'
                 AND (get_jobs.task_identifiers IS NULL OR j.task_identifier = ANY (get_jobs.task_identifiers))
               ORDER BY j.priority, j.run_at, j.id
               LIMIT get_jobs.batch_size
                 FOR UPDATE SKIP LOCKED) AS c;
      IF v_taken IS NULL THEN
        RETURN;
      END IF;
      IF v_queued THEN
        v_taken := NULL;
        v_loop := true;
        CONTINUE attempt;
      END IF;
    END IF;
    -- The claim itself: the jobs the common case read, or those the loop chose. One job (a
    -- get_job) is returned as the UPDATE writes it; many are returned in claim order.
    IF pg_catalog.cardinality(v_taken) = 1 THEN
      UPDATE app_jobs.jobs AS j
         SET state = 'running',
             first_started_at = coalesce(j.first_started_at, pg_catalog.now()),
             locked_by = get_jobs.worker_id,
             locked_at = pg_catalog.now(),
             attempts = j.attempts + 1,
             started_attempt = CASE WHEN get_jobs.started IS NOT FALSE THEN j.attempts + 1 END,
             updated_at = pg_catalog.now()
       WHERE j.id = v_taken[1]
      RETURNING j AS job INTO v_claimed;
      IF FOUND THEN
        RETURN NEXT v_claimed.job;
      END IF;
    ELSE
      RETURN QUERY
        WITH taken AS (
          UPDATE app_jobs.jobs AS j
             SET state = 'running',
                 first_started_at = coalesce(j.first_started_at, pg_catalog.now()),
                 locked_by = get_jobs.worker_id,
                 locked_at = pg_catalog.now(),
                 attempts = j.attempts + 1,
                 started_attempt = CASE WHEN get_jobs.started IS NOT FALSE THEN j.attempts + 1 END,
                 updated_at = pg_catalog.now()
           WHERE j.id = ANY (v_taken)
          RETURNING j.*)
        SELECT * FROM taken AS t ORDER BY t.priority, t.run_at, t.id;
    END IF;
    RETURN;
  END LOOP;
END;
$$;

REVOKE ALL ON FUNCTION app_jobs.get_jobs(text, text[], interval, integer, boolean) FROM PUBLIC;

COMMENT ON FUNCTION app_jobs.get_jobs(text, text[], interval, integer, boolean) IS
  'Claims up to batch_size (1-10000, default 100) jobs for worker_id and returns them in claim order (no row when none is due), with exactly get_job''s order, task filter, expiry and queue semantics: lowest priority first, then earliest run_at, then oldest; at most one job per named queue, and a named queue starts its jobs strictly in that order among its due jobs. Each job is locked (locked_by, locked_at) and its attempts go up by one. With started (the default) the jobs count as started, as get_job''s do; started := false claims them into a worker''s buffer: record each with start_jobs before its handler runs, since a job given back unstarted (its worker died or its lease lapsed, or settle_jobs) gets its attempt refunded. A lock older than job_expiry (default 4 hours) whose worker keeps no live lease is stale and its job is claimed again as a new attempt; jobs of a worker whose lease lapsed are reclaimable at once. Limits (set_job_limit) are enforced exactly: a job over its concurrency or rate limit is passed over and stays claimable, and a limited head of a named queue holds back its queue (limits need READ COMMITTED, PJ229). With tenant fairness on (set_tenant_fairness) jobs of equal priority are taken rotating across tenants.';

COMMIT;
