-- Deploy pgjobs:functions/_add_jobs to pg
-- requires: types/job_spec
-- requires: tables/jobs
-- requires: functions/_check_backoff
-- requires: functions/_job_spec_problem
-- requires: functions/_check_payload
-- requires: functions/_check_time
-- The one enqueue implementation: add_job is its one-element case, add_jobs passes a whole
-- batch. Set-based: one statement checks every element (the first bad one, in order, raises
-- its code and nothing is written), one INSERT ... ON CONFLICT writes them all, in element
-- order, so ids follow it. A job key replaces the tenant's waiting job with that key in place
-- (attempts and last_error reset); a running one is left to finish undisturbed, without a
-- retry, and a new job takes the key (then those elements go in again, at most 5 rounds, since
-- a running keyed job may finish meanwhile). A key repeated within one batch is taken element
-- by element, as that many add_job calls would. Every payload and run_at is checked
-- (_check_payload, _check_time: PJ119-PJ121) before anything is written. The keys of one batch
-- are taken in one fixed order (advisory locks on their hashes, sorted) before the INSERT, so
-- two bulk calls sharing keys never deadlock, whatever their element order.

BEGIN;

CREATE FUNCTION app_jobs._add_jobs(p_specs app_jobs.job_spec[], p_correlation_ids text[],
                                   p_backoffs jsonb[], p_fn text)
RETURNS SETOF app_jobs.jobs
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v_nil constant uuid := '00000000-0000-0000-0000-000000000000'::uuid;
  v_bad record;
  v_where text;
  v_todo integer[];
  v_rows app_jobs.jobs[];
  v_keyed boolean;
  v_i bigint;
  v_what text;
  v_where1 constant text := CASE WHEN p_fn = 'add_job' THEN 'add_job: ' ELSE p_fn || ': element 1: ' END;
BEGIN
  IF coalesce(pg_catalog.cardinality(p_correlation_ids), 0) NOT IN (0, pg_catalog.cardinality(p_specs))
     OR coalesce(pg_catalog.cardinality(p_backoffs), 0) NOT IN (0, pg_catalog.cardinality(p_specs)) THEN
    RAISE EXCEPTION USING
      ERRCODE = 'PJ131',
      MESSAGE = pg_catalog.format('%s: correlation_ids and backoffs must be NULL or have one element per spec (%s)', p_fn, pg_catalog.cardinality(p_specs)),
      HINT = 'Element i of each array belongs to specs[i]; pass NULL elements where there is nothing.';
  END IF;
  IF pg_catalog.cardinality(p_specs) = 1 THEN
    -- add_job: the same checks as an expression, without a query.
    v_what := app_jobs._job_spec_problem(p_specs[1], p_correlation_ids[1]);
    v_i := 1;
  ELSE
    SELECT c.i, c.what INTO v_i, v_what
      FROM (SELECT s.i,
                   app_jobs._job_spec_problem(
                     ROW(s.db_id, s.identifier, s.payload, s.job_key, s.queue_name, s.run_at,
                         s.max_attempts, s.priority)::app_jobs.job_spec,
                     s.correlation_id) AS what
              FROM ROWS FROM (pg_catalog.unnest(p_specs), pg_catalog.unnest(p_correlation_ids))
                   WITH ORDINALITY
                   AS s (db_id, identifier, payload, job_key, queue_name, run_at, max_attempts,
                         priority, correlation_id, i)) AS c
     WHERE c.what IS NOT NULL
     ORDER BY c.i
     LIMIT 1;
  END IF;
  IF v_what IS NOT NULL THEN
    v_where := CASE WHEN p_fn = 'add_job' THEN 'add_job: '
                    ELSE pg_catalog.format('%s: element %s: ', p_fn, v_i) END;
    IF v_what = 'identifier' THEN
      RAISE EXCEPTION USING
        ERRCODE = 'PJ101',
        MESSAGE = v_where || 'identifier (the task name) must be a non-empty text of at most 255 characters',
        DETAIL = pg_catalog.format('identifier = %s', coalesce(pg_catalog.quote_literal(pg_catalog.left((p_specs[v_i]).identifier, 300)), 'NULL')),
        HINT = 'Pass the name of the task that runs the job, e.g. identifier := ''send_email''.';
    ELSIF v_what = 'max_attempts' THEN
      RAISE EXCEPTION USING
        ERRCODE = 'PJ104',
        MESSAGE = v_where || pg_catalog.format('max_attempts must be at least 1, got %s', (p_specs[v_i]).max_attempts),
        HINT = 'Pass how many attempts the job may take in all (1 = no retry), or leave it out for 25.';
    ELSIF v_what = 'job_key' THEN
      RAISE EXCEPTION USING
        ERRCODE = 'PJ106',
        MESSAGE = v_where || 'job_key must be NULL or a non-empty text of at most 512 characters',
        HINT = 'Leave job_key out for a job without a key.';
    ELSIF v_what = 'queue_name' THEN
      RAISE EXCEPTION USING
        ERRCODE = 'PJ106',
        MESSAGE = v_where || 'queue_name must be NULL or a non-empty text of at most 255 characters',
        HINT = 'Leave queue_name out for a job that runs in parallel with others.';
    ELSE
      RAISE EXCEPTION USING
        ERRCODE = 'PJ106',
        MESSAGE = v_where || 'correlation_id must be NULL or a non-empty text of at most 255 characters',
        HINT = 'Pass an id shared by related jobs (e.g. a request id), or leave it out.';
    END IF;
  END IF;
  IF p_backoffs IS NOT NULL AND pg_catalog.array_remove(p_backoffs, NULL) <> '{}'::jsonb[] THEN
    FOR v_bad IN
      SELECT s.i, s.b AS backoff FROM pg_catalog.unnest(p_backoffs) WITH ORDINALITY AS s (b, i)
       WHERE s.b IS NOT NULL ORDER BY s.i
    LOOP
      PERFORM app_jobs._check_backoff(v_bad.backoff,
                                      CASE WHEN p_fn = 'add_job' THEN 'add_job'
                                           ELSE pg_catalog.format('%s: element %s', p_fn, v_bad.i) END);
    END LOOP;
  END IF;

  IF pg_catalog.cardinality(p_specs) = 1 THEN
    PERFORM app_jobs._check_payload((p_specs[1]).payload, v_where1 || 'payload'),
            app_jobs._check_time((p_specs[1]).run_at, v_where1 || 'run_at');
  ELSE
    -- One query, in element order: the first bad element raises. Only the elements the checks
    -- could refuse are passed to them (a call costs ~15 us, a third of a bulk enqueue): a
    -- payload _check_payload refuses is 200 bytes or more (nesting over 100, a 1,000-digit
    -- number, over 1 MiB), or holds an escape (\u0000, a lone surrogate) or an exponent; a
    -- run_at left out (NULL) is now.
    PERFORM app_jobs._check_payload(s.payload, pg_catalog.format('%s: element %s: payload', p_fn, s.i)),
            app_jobs._check_time(s.run_at, pg_catalog.format('%s: element %s: run_at', p_fn, s.i))
       FROM pg_catalog.unnest(p_specs) WITH ORDINALITY
            AS s (db_id, identifier, payload, job_key, queue_name, run_at, max_attempts, priority, i)
      WHERE s.run_at IS NOT NULL
         OR pg_catalog.octet_length(s.payload::text) >= 200
         OR pg_catalog.strpos(s.payload::text, '\u') > 0
         OR s.payload::text ~ '[0-9][eE]'
      ORDER BY s.i;
  END IF;

  IF pg_catalog.cardinality(p_specs) = 1 THEN
    v_keyed := (p_specs[1]).job_key IS NOT NULL;
  ELSE
    SELECT pg_catalog.bool_or(s.job_key IS NOT NULL) INTO v_keyed FROM pg_catalog.unnest(p_specs) AS s;
  END IF;

  IF NOT coalesce(v_keyed, false) THEN
    -- No job key: one plain INSERT (no ON CONFLICT, whose speculative insertion costs WAL).
    RETURN QUERY
      INSERT INTO app_jobs.jobs AS j (database_id, task_identifier, payload, queue_name, run_at,
                                      max_attempts, priority, state, correlation_id, backoff)
      SELECT coalesce(s.db_id, v_nil), s.identifier, coalesce(s.payload::jsonb, '{}'::jsonb),
             s.queue_name, coalesce(s.run_at, pg_catalog.now()), coalesce(s.max_attempts, 25),
             coalesce(s.priority, 0),
             CASE WHEN coalesce(s.run_at, pg_catalog.now()) > pg_catalog.now()
                  THEN 'scheduled' ELSE 'ready' END,
             s.correlation_id, s.backoff
        FROM ROWS FROM (pg_catalog.unnest(p_specs), pg_catalog.unnest(p_correlation_ids),
                        pg_catalog.unnest(p_backoffs)) WITH ORDINALITY
             AS s (db_id, identifier, payload, job_key, queue_name, run_at, max_attempts, priority,
                   correlation_id, backoff, i)
       ORDER BY s.i
      RETURNING j.*;
    RETURN;
  END IF;
  IF pg_catalog.cardinality(p_specs) > 1 THEN
    -- Keys in one fixed order (their hashes, sorted), so two batches never wait on each
    -- other's keys crosswise: the INSERT below takes them in element order.
    PERFORM pg_catalog.pg_advisory_xact_lock(k.h)
       FROM (SELECT DISTINCT pg_catalog.hashtextextended(
                               coalesce(s.db_id, v_nil)::text || '/' || s.job_key, 7474) AS h
               FROM pg_catalog.unnest(p_specs) AS s
              WHERE s.job_key IS NOT NULL) AS k
      ORDER BY k.h;
  END IF;
  IF EXISTS (
       SELECT 1 FROM pg_catalog.unnest(p_specs) AS s
        WHERE s.job_key IS NOT NULL
        GROUP BY coalesce(s.db_id, v_nil), s.job_key
       HAVING pg_catalog.count(*) > 1) THEN
    -- A key repeated in the batch: element by element, as that many add_job calls would.
    FOR i IN 1 .. pg_catalog.cardinality(p_specs) LOOP
      RETURN QUERY SELECT * FROM app_jobs._add_jobs(ARRAY[p_specs[i]], ARRAY[p_correlation_ids[i]],
                                                    ARRAY[p_backoffs[i]], p_fn);
    END LOOP;
    RETURN;
  END IF;

  v_todo := ARRAY(SELECT pg_catalog.generate_subscripts(p_specs, 1));
  FOR v_round IN 1 .. 5 LOOP
    WITH written AS (
      INSERT INTO app_jobs.jobs AS j (database_id, task_identifier, payload, key, queue_name,
                                      run_at, max_attempts, priority, state, correlation_id,
                                      backoff)
      SELECT coalesce(s.db_id, v_nil), s.identifier, coalesce(s.payload::jsonb, '{}'::jsonb),
             s.job_key, s.queue_name, coalesce(s.run_at, pg_catalog.now()),
             coalesce(s.max_attempts, 25), coalesce(s.priority, 0),
             CASE WHEN coalesce(s.run_at, pg_catalog.now()) > pg_catalog.now()
                  THEN 'scheduled' ELSE 'ready' END,
             s.correlation_id, s.backoff
        FROM ROWS FROM (pg_catalog.unnest(p_specs), pg_catalog.unnest(p_correlation_ids),
                       pg_catalog.unnest(p_backoffs)) WITH ORDINALITY
             AS s (db_id, identifier, payload, job_key, queue_name, run_at, max_attempts, priority,
                   correlation_id, backoff, i)
       WHERE v_round = 1 OR s.i = ANY (v_todo)
       ORDER BY s.i
      ON CONFLICT (database_id, key) WHERE key IS NOT NULL DO UPDATE
         SET task_identifier = excluded.task_identifier,
             payload = excluded.payload,
             queue_name = excluded.queue_name,
             run_at = excluded.run_at,
             max_attempts = excluded.max_attempts,
             priority = excluded.priority,
             state = excluded.state,
             correlation_id = excluded.correlation_id,
             backoff = excluded.backoff,
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

REVOKE ALL ON FUNCTION app_jobs._add_jobs(app_jobs.job_spec[], text[], jsonb[], text) FROM PUBLIC;

COMMENT ON FUNCTION app_jobs._add_jobs(app_jobs.job_spec[], text[], jsonb[], text) IS
  'Internal: the one enqueue implementation behind add_job (one element) and add_jobs (many), set-based; p_fn names the caller in error messages.';

COMMIT;
