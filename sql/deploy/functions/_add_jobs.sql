-- Deploy pgjobs:functions/_add_jobs to pg
-- requires: types/job_spec
-- requires: tables/jobs
-- requires: functions/_check_backoff
-- requires: functions/_check_payload
-- requires: functions/_check_time
-- requires: functions/_add_jobs@v0.5.0
-- requires: functions/_enqueue_problem
-- The one enqueue implementation: add_job is its one-element case, add_jobs passes a whole
-- batch. Set-based: one query checks every element, in element order (the first bad element
-- raises its code, naming it, and nothing is written), one INSERT writes them all, in element
-- order, so ids follow it. A job key replaces the tenant's waiting job with that key in place
-- (attempts and last_error reset); a running one is left to finish undisturbed, without a
-- retry, and a new job takes the key (then those elements go in again, at most 5 rounds, since
-- a running keyed job may finish meanwhile). A key repeated within one batch is taken element
-- by element, as that many add_job calls would. The keys of one batch are taken in one fixed
-- order (advisory locks on their hashes, sorted) before the INSERT, so two bulk calls sharing
-- keys never deadlock, whatever their element order; a batch without keys takes none.
--
-- Speed (a bulk enqueue is judged per row): no PL/pgSQL call per element on the common path.
-- The checks of an element are one inlined SQL expression (app_jobs._enqueue_problem, 0.6.0):
-- over the whole batch in the checking query; for one element (add_job) evaluated on its
-- fields with no query, the checking query running only when it names something (a cursor
-- over that query was a fifth of an add_job call). Only an element that could fail
-- _check_payload (200 bytes of JSON or more, an escape, an exponent) or carries a backoff is
-- passed to those functions. The uid is the
-- version 7 uuid of app_jobs._uuid_v7 (the column default), computed here as an expression:
-- the row's millisecond in 12 hex digits, the version (7), then a version 4 uuid from its
-- third group on ('xxx-Nxxx-xxxxxxxxxxxx', variant bits kept). A function call per row was a
-- third of a 50,000-job enqueue. (One millisecond for a whole batch was slower: the uid index
-- then splits pages across the batch instead of appending at its end.)
--
-- Task settings (app_jobs.task_settings, 0.4.0): an element that leaves max_attempts, priority,
-- queue_name, backoff or timeout out (NULL) gets the task's setting (operator for the tenant,
-- operator for all tenants, code), then the built-in default. One join of the batch with
-- task_settings, set-based; skipped entirely when no settings row exists for the task (one
-- element) or at all (a batch), so a schema without settings pays one index probe.
-- Job-key modes (p_key_mode, 0.4.0) for an element whose key a waiting job holds: replace
-- (NULL, the default: that job is replaced in place, a debounce), preserve_run_at (replaced,
-- but its run_at stands: a throttle) or unsafe_dedupe (that job is returned untouched, even a
-- running one; nothing is written).
-- (tables/task_settings comes later in the plan than this change: PL/pgSQL resolves it when
-- the function runs, after the whole deploy.)

BEGIN;

CREATE OR REPLACE FUNCTION app_jobs._add_jobs(p_specs app_jobs.job_spec[], p_correlation_ids text[],
                                   p_backoffs jsonb[], p_timeouts interval[], p_fn text,
                                   p_key_mode text DEFAULT NULL)
RETURNS SETOF app_jobs.jobs
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v_nil constant uuid := '00000000-0000-0000-0000-000000000000'::uuid;
  v_n constant integer := coalesce(pg_catalog.cardinality(p_specs), 0);
  v_bad record;
  v_spec app_jobs.job_spec;
  -- The one-element path's row (see there).
  v_one record;
  v_what text;
  v_where text;
  v_todo integer[];
  v_rows app_jobs.jobs[];
  v_keyed boolean;
  v_settings boolean;
  v_all app_jobs.jobs[] := '{}'::app_jobs.jobs[];
  v_mode constant text := coalesce(p_key_mode, 'replace');
BEGIN
  IF coalesce(pg_catalog.cardinality(p_correlation_ids), 0) NOT IN (0, v_n)
     OR coalesce(pg_catalog.cardinality(p_backoffs), 0) NOT IN (0, v_n)
     OR coalesce(pg_catalog.cardinality(p_timeouts), 0) NOT IN (0, v_n) THEN
    RAISE EXCEPTION USING
      ERRCODE = 'PJ131',
      MESSAGE = pg_catalog.format('%s: correlation_ids, backoffs and timeouts must be NULL or have one element per spec (%s)', p_fn, v_n),
      HINT = 'Element i of each array belongs to specs[i]; pass NULL elements where there is nothing.';
  END IF;
  IF v_mode NOT IN ('replace', 'preserve_run_at', 'unsafe_dedupe') THEN
    RAISE EXCEPTION USING
      ERRCODE = 'PJ181',
      MESSAGE = pg_catalog.format('%s: job_key_mode must be replace, preserve_run_at or unsafe_dedupe, got %s', p_fn, pg_catalog.quote_literal(pg_catalog.left(p_key_mode, 100))),
      HINT = 'Leave job_key_mode out to replace a waiting job with the key (the default).';
  END IF;
  IF v_n = 0 THEN
    RETURN;
  END IF;

  -- Every check of every element, in element order (app_jobs._enqueue_problem, inlined):
  -- `what` is a check the element fails for sure, or 'check' when _check_backoff (a backoff
  -- given) and _check_payload (a payload that could fail it) must look. One element: the same
  -- expression on its fields, with no query (the query below only runs for an element with
  -- something to check or raise).
  IF v_n = 1 THEN
    v_spec := p_specs[1];
    v_what := app_jobs._enqueue_problem(v_spec.identifier, v_spec.max_attempts, v_spec.job_key,
                                        v_spec.queue_name, p_correlation_ids[1], p_timeouts[1],
                                        v_spec.run_at, v_spec.payload, p_backoffs[1]);
  END IF;
  IF v_n > 1 OR v_what IS NOT NULL THEN
    FOR v_bad IN
      SELECT c.*
        FROM (SELECT s.i, s.run_at, s.payload, s.backoff,
                     app_jobs._enqueue_problem(s.identifier, s.max_attempts, s.job_key,
                                               s.queue_name, s.correlation_id, s.timeout,
                                               s.run_at, s.payload, s.backoff) AS what
                FROM ROWS FROM (pg_catalog.unnest(p_specs), pg_catalog.unnest(p_correlation_ids),
                                pg_catalog.unnest(p_backoffs), pg_catalog.unnest(p_timeouts))
                     WITH ORDINALITY
                     AS s (db_id, identifier, payload, job_key, queue_name, run_at, max_attempts,
                           priority, correlation_id, backoff, timeout, i)) AS c
       WHERE c.what IS NOT NULL
       ORDER BY c.i
    LOOP
      v_where := CASE WHEN p_fn = 'add_job' THEN 'add_job: '
                      ELSE pg_catalog.format('%s: element %s: ', p_fn, v_bad.i) END;
      IF v_bad.what = 'identifier' THEN
        RAISE EXCEPTION USING
          ERRCODE = 'PJ101',
          MESSAGE = v_where || 'identifier (the task name) must be a non-empty text of at most 255 characters',
          DETAIL = pg_catalog.format('identifier = %s', coalesce(pg_catalog.quote_literal(pg_catalog.left((p_specs[v_bad.i]).identifier, 300)), 'NULL')),
          HINT = 'Pass the name of the task that runs the job, e.g. identifier := ''send_email''.';
      ELSIF v_bad.what = 'max_attempts' THEN
        RAISE EXCEPTION USING
          ERRCODE = 'PJ104',
          MESSAGE = v_where || pg_catalog.format('max_attempts must be at least 1, got %s', (p_specs[v_bad.i]).max_attempts),
          HINT = 'Pass how many attempts the job may take in all (1 = no retry), or leave it out for 25.';
      ELSIF v_bad.what = 'job_key' THEN
        RAISE EXCEPTION USING
          ERRCODE = 'PJ106',
          MESSAGE = v_where || 'job_key must be NULL or a non-empty text of at most 512 characters',
          HINT = 'Leave job_key out for a job without a key.';
      ELSIF v_bad.what = 'queue_name' THEN
        RAISE EXCEPTION USING
          ERRCODE = 'PJ106',
          MESSAGE = v_where || 'queue_name must be NULL or a non-empty text of at most 255 characters',
          HINT = 'Leave queue_name out for a job that runs in parallel with others.';
      ELSIF v_bad.what = 'correlation_id' THEN
        RAISE EXCEPTION USING
          ERRCODE = 'PJ106',
          MESSAGE = v_where || 'correlation_id must be NULL or a non-empty text of at most 255 characters',
          HINT = 'Pass an id shared by related jobs (e.g. a request id), or leave it out.';
      ELSIF v_bad.what = 'timeout' THEN
        RAISE EXCEPTION USING
          ERRCODE = 'PJ406',
          MESSAGE = v_where || pg_catalog.format('timeout must be more than 0 and at most 7 days, got %s', p_timeouts[v_bad.i]),
          DETAIL = 'timeout is how long one attempt of the job may run before its worker stops it and fails the attempt.',
          HINT = 'Pass an interval such as interval ''5 minutes'', or NULL for no limit.';
      ELSIF v_bad.what = 'run_at' THEN
        PERFORM app_jobs._check_time(v_bad.run_at, v_where || 'run_at');  -- raises PJ119
      END IF;
      -- 'check' (a sure failure raised above): these raise only for a bad backoff or payload.
      IF v_bad.backoff IS NOT NULL THEN
        PERFORM app_jobs._check_backoff(v_bad.backoff, pg_catalog.rtrim(v_where, ': '));
      END IF;
      PERFORM app_jobs._check_payload(v_bad.payload, v_where || 'payload');
    END LOOP;
  END IF;

  -- Task settings for what the elements leave out, only when some exist.
  IF v_n = 1 THEN
    v_settings := EXISTS (SELECT 1 FROM app_jobs.task_settings AS t
                           WHERE t.task_identifier = (p_specs[1]).identifier);
  ELSE
    v_settings := EXISTS (SELECT 1 FROM app_jobs.task_settings);
  END IF;
  IF v_settings THEN
    SELECT pg_catalog.array_agg(
             ROW(s.db_id, s.identifier, s.payload, s.job_key,
                 coalesce(s.queue_name, ot.queue_name, oa.queue_name, c.queue_name), s.run_at,
                 coalesce(s.max_attempts, ot.max_attempts, oa.max_attempts, c.max_attempts),
                 coalesce(s.priority, ot.priority, oa.priority, c.priority))::app_jobs.job_spec
             ORDER BY s.i),
           pg_catalog.array_agg(coalesce(s.backoff, ot.backoff, oa.backoff, c.backoff) ORDER BY s.i),
           pg_catalog.array_agg(coalesce(s.timeout, ot.timeout, oa.timeout, c.timeout) ORDER BY s.i)
      INTO p_specs, p_backoffs, p_timeouts
      FROM ROWS FROM (pg_catalog.unnest(p_specs), pg_catalog.unnest(p_backoffs),
                      pg_catalog.unnest(p_timeouts)) WITH ORDINALITY
           AS s (db_id, identifier, payload, job_key, queue_name, run_at, max_attempts, priority,
                 backoff, timeout, i)
      LEFT JOIN app_jobs.task_settings AS ot
             ON ot.task_identifier = s.identifier AND ot.source = 'operator'
            AND ot.database_id = coalesce(s.db_id, v_nil)
      LEFT JOIN app_jobs.task_settings AS oa
             ON oa.task_identifier = s.identifier AND oa.source = 'operator'
            AND oa.database_id IS NULL
      LEFT JOIN app_jobs.task_settings AS c
             ON c.task_identifier = s.identifier AND c.source = 'code' AND c.database_id IS NULL;
  END IF;

  -- Payload schemas (issue 19): only task settings hold them, so only checked when some exist.
  IF v_settings THEN
    PERFORM app_jobs._check_payload_schemas(p_specs, p_fn);
  END IF;

  IF v_n = 1 THEN
    v_keyed := (p_specs[1]).job_key IS NOT NULL;
  ELSE
    v_keyed := EXISTS (SELECT 1 FROM pg_catalog.unnest(p_specs) AS s WHERE s.job_key IS NOT NULL);
  END IF;

  IF v_n = 1 AND NOT v_keyed THEN
    -- One element without a key (add_job's common case): the INSERT below on its fields, with
    -- no function scan over the arrays and no sort (their plan's set-up was a twenty-fifth of
    -- an add_job, make bench-cpu --paths enqueue). Every column as the INSERT below writes it
    -- (tests/sql/test_enqueue_paths.py holds the two to each other).
    v_spec := p_specs[1];
    -- The row comes back as one composite value (RETURNING j INTO a record, RETURN NEXT),
    -- not as 32 columns to RETURN QUERY: PostgreSQL builds a plan node's row type at every
    -- execution (make bench-cpu --paths enqueue: 696,700 to 686,600 instructions an add_job).
    INSERT INTO app_jobs.jobs AS j (database_id, task_identifier, payload, queue_name, run_at,
                                    max_attempts, priority, state, correlation_id, backoff,
                                    timeout, uid)
    VALUES (coalesce(v_spec.db_id, v_nil), v_spec.identifier,
            coalesce(v_spec.payload::jsonb, '{}'::jsonb), v_spec.queue_name,
            coalesce(v_spec.run_at, pg_catalog.now()), coalesce(v_spec.max_attempts, 25),
            coalesce(v_spec.priority, 0),
            CASE WHEN v_spec.run_at > pg_catalog.now() THEN 'scheduled' ELSE 'ready' END,
            p_correlation_ids[1], p_backoffs[1], p_timeouts[1],
            (pg_catalog.lpad(pg_catalog.to_hex((pg_catalog.date_part('epoch', pg_catalog.clock_timestamp()) * 1000)::bigint), 12, '0')
             || '7' || pg_catalog.substr(pg_catalog.gen_random_uuid()::text, 16))::uuid)
    RETURNING j AS job INTO v_one;
    RETURN NEXT v_one.job;
    RETURN;
  END IF;
  IF NOT v_keyed THEN
    -- No job key: one plain INSERT (no ON CONFLICT, whose speculative insertion costs WAL).
    RETURN QUERY
      INSERT INTO app_jobs.jobs AS j (database_id, task_identifier, payload, queue_name, run_at,
                                      max_attempts, priority, state, correlation_id, backoff,
                                      timeout, uid)
      SELECT coalesce(s.db_id, v_nil), s.identifier, coalesce(s.payload::jsonb, '{}'::jsonb),
             s.queue_name, coalesce(s.run_at, pg_catalog.now()), coalesce(s.max_attempts, 25),
             coalesce(s.priority, 0),
             CASE WHEN s.run_at > pg_catalog.now() THEN 'scheduled' ELSE 'ready' END,
             s.correlation_id, s.backoff, s.timeout,
             (pg_catalog.lpad(pg_catalog.to_hex((pg_catalog.date_part('epoch', pg_catalog.clock_timestamp()) * 1000)::bigint), 12, '0')
              || '7' || pg_catalog.substr(pg_catalog.gen_random_uuid()::text, 16))::uuid
        FROM ROWS FROM (pg_catalog.unnest(p_specs), pg_catalog.unnest(p_correlation_ids),
                        pg_catalog.unnest(p_backoffs), pg_catalog.unnest(p_timeouts))
             WITH ORDINALITY
             AS s (db_id, identifier, payload, job_key, queue_name, run_at, max_attempts, priority,
                   correlation_id, backoff, timeout, i)
       ORDER BY s.i
      RETURNING j.*;
    RETURN;
  END IF;
  IF v_n > 1 THEN
    -- Keys in one fixed order (their hashes, sorted), so two batches never wait on each
    -- other's keys crosswise: the INSERT below takes them in element order.
    PERFORM pg_catalog.pg_advisory_xact_lock(k.h)
       FROM (SELECT DISTINCT pg_catalog.hashtextextended(
                               coalesce(s.db_id, v_nil)::text || '/' || s.job_key, 7474) AS h
               FROM pg_catalog.unnest(p_specs) AS s
              WHERE s.job_key IS NOT NULL) AS k
      ORDER BY k.h;
    IF EXISTS (
         SELECT 1 FROM pg_catalog.unnest(p_specs) AS s
          WHERE s.job_key IS NOT NULL
          GROUP BY coalesce(s.db_id, v_nil), s.job_key
         HAVING pg_catalog.count(*) > 1) THEN
      -- A key repeated in the batch: element by element, as that many add_job calls would.
      FOR i IN 1 .. v_n LOOP
        RETURN QUERY SELECT * FROM app_jobs._add_jobs(ARRAY[p_specs[i]], ARRAY[p_correlation_ids[i]],
                                                      ARRAY[p_backoffs[i]], ARRAY[p_timeouts[i]],
                                                      p_fn, p_key_mode);
      END LOOP;
      RETURN;
    END IF;
  END IF;

  v_todo := ARRAY(SELECT pg_catalog.generate_subscripts(p_specs, 1));
  IF v_mode = 'unsafe_dedupe' THEN
    FOR v_round IN 1 .. 5 LOOP
      -- New keys go in; a key a job holds (in any state) returns that job untouched.
      WITH written AS (
        INSERT INTO app_jobs.jobs AS j (database_id, task_identifier, payload, key, queue_name,
                                        run_at, max_attempts, priority, state, correlation_id,
                                        backoff, timeout, uid)
        SELECT coalesce(s.db_id, v_nil), s.identifier, coalesce(s.payload::jsonb, '{}'::jsonb),
               s.job_key, s.queue_name, coalesce(s.run_at, pg_catalog.now()),
               coalesce(s.max_attempts, 25), coalesce(s.priority, 0),
               CASE WHEN s.run_at > pg_catalog.now() THEN 'scheduled' ELSE 'ready' END,
               s.correlation_id, s.backoff, s.timeout,
               (pg_catalog.lpad(pg_catalog.to_hex((pg_catalog.date_part('epoch', pg_catalog.clock_timestamp()) * 1000)::bigint), 12, '0')
                || '7' || pg_catalog.substr(pg_catalog.gen_random_uuid()::text, 16))::uuid
          FROM ROWS FROM (pg_catalog.unnest(p_specs), pg_catalog.unnest(p_correlation_ids),
                         pg_catalog.unnest(p_backoffs), pg_catalog.unnest(p_timeouts))
               WITH ORDINALITY
               AS s (db_id, identifier, payload, job_key, queue_name, run_at, max_attempts, priority,
                     correlation_id, backoff, timeout, i)
         WHERE s.i = ANY (v_todo)
         ORDER BY s.i
        ON CONFLICT (database_id, key) WHERE key IS NOT NULL DO NOTHING
        RETURNING j AS job)
      SELECT pg_catalog.array_agg(w.job) INTO v_rows FROM written AS w;
      v_all := v_all || coalesce(v_rows, '{}'::app_jobs.jobs[]);
      v_todo := ARRAY(
        SELECT g.i FROM pg_catalog.unnest(v_todo) AS g (i)
         WHERE (p_specs[g.i]).job_key IS NOT NULL AND NOT EXISTS (SELECT 1 FROM pg_catalog.unnest(v_rows) AS r
                            WHERE r.database_id = coalesce((p_specs[g.i]).db_id, v_nil)
                              AND r.key = (p_specs[g.i]).job_key)
         ORDER BY g.i);
      -- The jobs holding the other keys (committed, so this statement sees them; one that
      -- left meanwhile sends its element round again).
      SELECT pg_catalog.array_agg(j ORDER BY g.i) INTO v_rows
        FROM pg_catalog.unnest(v_todo) AS g (i)
        JOIN app_jobs.jobs AS j
          ON j.database_id = coalesce((p_specs[g.i]).db_id, v_nil) AND j.key = (p_specs[g.i]).job_key;
      v_all := v_all || coalesce(v_rows, '{}'::app_jobs.jobs[]);
      v_todo := ARRAY(
        SELECT g.i FROM pg_catalog.unnest(v_todo) AS g (i)
         WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.unnest(v_rows) AS r
                            WHERE r.database_id = coalesce((p_specs[g.i]).db_id, v_nil)
                              AND r.key = (p_specs[g.i]).job_key)
         ORDER BY g.i);
      IF pg_catalog.cardinality(v_todo) = 0 THEN
        -- In element order: a keyed element by its key, the others (inserted in element
        -- order, so by id) one to one.
        RETURN QUERY
          SELECT (o.job).*
            FROM (SELECT x AS job, s.i AS pos
                    FROM pg_catalog.unnest(v_all) AS x
                    JOIN pg_catalog.unnest(p_specs) WITH ORDINALITY
                         AS s (db_id, identifier, payload, job_key, queue_name, run_at,
                               max_attempts, priority, i)
                      ON x.key = s.job_key AND x.database_id = coalesce(s.db_id, v_nil)
                  UNION ALL
                  SELECT u.job, e.i
                    FROM (SELECT x AS job, pg_catalog.row_number() OVER (ORDER BY x.id) AS n
                            FROM pg_catalog.unnest(v_all) AS x WHERE x.key IS NULL) AS u
                    JOIN (SELECT s.i, pg_catalog.row_number() OVER (ORDER BY s.i) AS n
                            FROM pg_catalog.unnest(p_specs) WITH ORDINALITY
                                 AS s (db_id, identifier, payload, job_key, queue_name, run_at,
                                       max_attempts, priority, i)
                           WHERE s.job_key IS NULL) AS e
                      ON e.n = u.n) AS o
           ORDER BY o.pos;
        RETURN;
      END IF;
    END LOOP;
    RAISE EXCEPTION USING
      ERRCODE = 'PJ401',
      MESSAGE = pg_catalog.format('%s: could not enqueue under job_key %L: the key kept changing hands', p_fn, (p_specs[v_todo[1]]).job_key),
      HINT = 'Another transaction is replacing the same key at the same moment; retry the call.';
  END IF;
  FOR v_round IN 1 .. 5 LOOP
    WITH written AS (
      INSERT INTO app_jobs.jobs AS j (database_id, task_identifier, payload, key, queue_name,
                                      run_at, max_attempts, priority, state, correlation_id,
                                      backoff, timeout, uid)
      SELECT coalesce(s.db_id, v_nil), s.identifier, coalesce(s.payload::jsonb, '{}'::jsonb),
             s.job_key, s.queue_name, coalesce(s.run_at, pg_catalog.now()),
             coalesce(s.max_attempts, 25), coalesce(s.priority, 0),
             CASE WHEN s.run_at > pg_catalog.now() THEN 'scheduled' ELSE 'ready' END,
             s.correlation_id, s.backoff, s.timeout,
             (pg_catalog.lpad(pg_catalog.to_hex((pg_catalog.date_part('epoch', pg_catalog.clock_timestamp()) * 1000)::bigint), 12, '0')
              || '7' || pg_catalog.substr(pg_catalog.gen_random_uuid()::text, 16))::uuid
        FROM ROWS FROM (pg_catalog.unnest(p_specs), pg_catalog.unnest(p_correlation_ids),
                       pg_catalog.unnest(p_backoffs), pg_catalog.unnest(p_timeouts))
             WITH ORDINALITY
             AS s (db_id, identifier, payload, job_key, queue_name, run_at, max_attempts, priority,
                   correlation_id, backoff, timeout, i)
       WHERE v_round = 1 OR s.i = ANY (v_todo)
       ORDER BY s.i
      ON CONFLICT (database_id, key) WHERE key IS NOT NULL DO UPDATE
         SET task_identifier = excluded.task_identifier,
             payload = excluded.payload,
             queue_name = excluded.queue_name,
             -- preserve_run_at: the waiting job's run time stands (a throttle).
             run_at = CASE WHEN v_mode = 'preserve_run_at' THEN j.run_at ELSE excluded.run_at END,
             max_attempts = excluded.max_attempts,
             priority = excluded.priority,
             state = CASE WHEN v_mode <> 'preserve_run_at' THEN excluded.state
                          WHEN j.run_at > pg_catalog.now() THEN 'scheduled' ELSE 'ready' END,
             correlation_id = excluded.correlation_id,
             backoff = excluded.backoff,
             timeout = excluded.timeout,
             attempts = 0,
             last_error = NULL,
             updated_at = pg_catalog.now()
       WHERE j.state <> 'running'
      RETURNING j AS job)
    SELECT pg_catalog.array_agg(w.job) INTO v_rows FROM written AS w;
    RETURN QUERY SELECT * FROM pg_catalog.unnest(v_rows);
    IF coalesce(pg_catalog.cardinality(v_rows), 0) = pg_catalog.cardinality(v_todo) THEN
      RETURN;
    END IF;
    -- The elements whose key a running job holds: that job finishes undisturbed, without a
    -- retry, and gives the key up; those elements go in again.
    v_todo := ARRAY(
      SELECT g.i FROM pg_catalog.unnest(v_todo) AS g (i)
       WHERE (p_specs[g.i]).job_key IS NOT NULL
         AND NOT EXISTS (SELECT 1 FROM pg_catalog.unnest(v_rows) AS r
                          WHERE r.database_id = coalesce((p_specs[g.i]).db_id, v_nil)
                            AND r.key = (p_specs[g.i]).job_key)
       ORDER BY g.i);
    UPDATE app_jobs.jobs AS j
       SET key = NULL, superseded = true, max_attempts = greatest(j.attempts, 1),
           updated_at = pg_catalog.now()
      FROM pg_catalog.unnest(v_todo) AS g (i)
     WHERE j.database_id = coalesce((p_specs[g.i]).db_id, v_nil) AND j.key = (p_specs[g.i]).job_key
       AND j.state = 'running';
  END LOOP;

  RAISE EXCEPTION USING
    ERRCODE = 'PJ401',
    MESSAGE = pg_catalog.format('%s: could not enqueue under job_key %L: the key kept changing hands', p_fn, (p_specs[v_todo[1]]).job_key),
    HINT = 'Another transaction is replacing the same key at the same moment; retry the call.';
END;
$$;

REVOKE ALL ON FUNCTION app_jobs._add_jobs(app_jobs.job_spec[], text[], jsonb[], interval[], text, text) FROM PUBLIC;

COMMENT ON FUNCTION app_jobs._add_jobs(app_jobs.job_spec[], text[], jsonb[], interval[], text, text) IS
  'Internal: the one enqueue implementation behind add_job (one element) and add_jobs (many), set-based; p_fn names the caller in error messages; task settings fill what an element leaves out; p_key_mode: replace (NULL), preserve_run_at or unsafe_dedupe.';

COMMIT;
