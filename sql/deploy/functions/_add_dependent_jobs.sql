-- Deploy pgjobs:functions/_add_dependent_jobs to pg
-- requires: functions/_add_jobs
-- requires: tables/jobs
-- requires: tables/job_dependencies
-- requires: tables/job_history
-- Job dependencies (0.5.0): the enqueue of jobs that wait for others, behind add_job's and
-- add_jobs' depends_on; a call without dependencies never comes here (add_job / add_jobs
-- call app_jobs._add_jobs directly, as before). p_depends_on[i] is element i's dependencies:
-- NULL or a JSON array of job ids (numbers) and {"element": k}, element k (1-based, k < i)
-- of the same call, so one add_jobs call can enqueue a whole pipeline.
--   1. The shapes, element by element (PJ210): numbers from 1 up or {"element": k} with
--      k < i, no NULL, no duplicate, at most 1000; a job with dependencies has no job_key
--      (PJ214: replacing a waiting dependant in place would have to merge its dependencies).
--   2. The dependencies named by id still in app_jobs.jobs are locked FOR KEY SHARE, in id
--      order: from now on none of them can leave app_jobs.jobs (its finish waits for this
--      transaction), and one that left before is in job_history when looked for next.
--      Completed: met. Failed or cancelled: refused (PJ213), since the job could never run.
--      Neither: PJ211 (the job's own id, not given yet, is one). Another tenant's: PJ212
--      (PJ211 under tenant isolation, which must not reveal another tenant's ids).
--      All before anything is written (not even an id is drawn from the sequence).
--   3. The jobs go in through app_jobs._add_jobs (every check, setting and key rule of a
--      plain enqueue), in this transaction: no worker sees them before the end.
--   4. The elements named by position are locked and every edge checked again.
--   5. The edges are written, has_dependants set on the dependencies that lacked it (the
--      finish of each then looks its dependants up), and each job waits ('waiting', out of the
--      claim index) for its dependencies not completed yet (pending_dependencies); a job whose
--      dependencies all completed already is due at once.
-- No cycle can form: a dependency must exist (be visible) when its dependant is written, so
-- every edge points to an older job.

BEGIN;

CREATE FUNCTION app_jobs._add_dependent_jobs(p_specs app_jobs.job_spec[], p_correlation_ids text[],
                                             p_backoffs jsonb[], p_timeouts interval[], p_fn text,
                                             p_key_mode text, p_depends_on jsonb[])
RETURNS SETOF app_jobs.jobs
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v_nil constant uuid := '00000000-0000-0000-0000-000000000000'::uuid;
  v_n constant integer := coalesce(pg_catalog.cardinality(p_specs), 0);
  v_bad record;
  v_where text;
  v_rows app_jobs.jobs[];
  v_live bigint[];
  v_e_i integer[];
  v_e_job bigint[];
  v_e_db uuid[];
  v_e_dep bigint[];
  v_e_element integer[];
  v_ids bigint[];
  v_dbs uuid[];
BEGIN
  IF coalesce(pg_catalog.cardinality(p_depends_on), 0) NOT IN (0, v_n) THEN
    RAISE EXCEPTION USING
      ERRCODE = 'PJ131',
      MESSAGE = pg_catalog.format('%s: depends_on must be NULL or have one element per spec (%s)', p_fn, v_n),
      HINT = 'Element i of depends_on is specs[i]''s dependencies: NULL, or a JSON array of job ids and {"element": k}.';
  END IF;

  -- 1. Shapes, in element order.
  FOR v_bad IN
    SELECT c.*
      FROM (SELECT d.i, d.deps,
                   CASE
                     WHEN pg_catalog.jsonb_typeof(d.deps) <> 'array' THEN 'array'
                     WHEN pg_catalog.jsonb_array_length(d.deps) > 1000 THEN 'many'
                     WHEN EXISTS (
                       SELECT 1 FROM pg_catalog.jsonb_array_elements(d.deps) AS x
                        WHERE NOT coalesce(
                                (pg_catalog.jsonb_typeof(x) = 'number'
                                 AND x::text ~ '^[0-9]{1,19}$'
                                 AND x::text::numeric BETWEEN 1 AND 9223372036854775807)
                                OR (pg_catalog.jsonb_typeof(x) = 'object'
                                    AND x - 'element' = '{}'::jsonb
                                    AND pg_catalog.jsonb_typeof(x -> 'element') = 'number'
                                    AND (x ->> 'element') ~ '^[0-9]{1,9}$'
                                    AND (x ->> 'element')::integer BETWEEN 1 AND d.i - 1),
                                false)) THEN 'item'
                     WHEN (SELECT pg_catalog.count(*) <> pg_catalog.count(DISTINCT x)
                             FROM pg_catalog.jsonb_array_elements(d.deps) AS x) THEN 'duplicate'
                     WHEN pg_catalog.jsonb_array_length(d.deps) > 0
                          AND (p_specs[d.i]).job_key IS NOT NULL THEN 'key'
                   END AS what
              FROM pg_catalog.unnest(p_depends_on) WITH ORDINALITY AS d (deps, i)
             WHERE d.deps IS NOT NULL) AS c
     WHERE c.what IS NOT NULL
     ORDER BY c.i
     LIMIT 1
  LOOP
    v_where := CASE WHEN p_fn = 'add_job' THEN 'add_job: '
                    ELSE pg_catalog.format('%s: element %s: ', p_fn, v_bad.i) END;
    IF v_bad.what = 'key' THEN
      RAISE EXCEPTION USING
        ERRCODE = 'PJ214',
        MESSAGE = v_where || 'a job with dependencies (depends_on) cannot have a job_key',
        DETAIL = pg_catalog.format('job_key = %L', (p_specs[v_bad.i]).job_key),
        HINT = 'Leave job_key out for a job that waits for others; its dependencies may have keys.';
    END IF;
    RAISE EXCEPTION USING
      ERRCODE = 'PJ210',
      MESSAGE = v_where || CASE v_bad.what
        WHEN 'array' THEN 'depends_on must be an array of job ids'
        WHEN 'many' THEN pg_catalog.format('depends_on has %s dependencies, at most 1000 are allowed', pg_catalog.jsonb_array_length(v_bad.deps))
        WHEN 'duplicate' THEN 'depends_on names a dependency twice'
        ELSE 'depends_on must hold job ids (1 or more, no NULL) or {"element": k} naming an earlier element of the same call' END,
      DETAIL = pg_catalog.format('depends_on = %s', pg_catalog.left(v_bad.deps::text, 200)),
      HINT = 'Pass the ids of existing jobs this job waits for, e.g. depends_on := ARRAY[12, 13]; in add_jobs, {"element": 1} is the job of the first element.';
  END LOOP;

  -- 2. The dependencies named by id, before anything is written: locked FOR KEY SHARE in id
  --    order when still waiting or running (none of them can leave app_jobs.jobs now: its
  --    finish waits for this transaction), else looked for in the history (one that left
  --    before the lock is there); and the tenants of the elements named by position.
  v_live := ARRAY(SELECT j.id FROM app_jobs.jobs AS j
                   WHERE j.id IN (SELECT CASE WHEN pg_catalog.jsonb_typeof(x) = 'number' THEN x::text::bigint END
                                    FROM pg_catalog.unnest(p_depends_on) AS d (deps),
                                         pg_catalog.jsonb_array_elements(d.deps) AS x
                                   WHERE d.deps IS NOT NULL AND pg_catalog.jsonb_typeof(x) = 'number')
                   ORDER BY j.id
                     FOR KEY SHARE OF j);
  FOR v_bad IN
    SELECT c.*
      FROM (SELECT d.i, x AS item, coalesce((p_specs[d.i]).db_id, v_nil) AS database_id,
                   CASE WHEN pg_catalog.jsonb_typeof(x) = 'number' THEN x::text::bigint END AS depends_on_id,
                   CASE WHEN pg_catalog.jsonb_typeof(x) = 'number'
                        THEN coalesce(l.database_id, h.database_id)
                        ELSE coalesce((p_specs[(x ->> 'element')::integer]).db_id, v_nil) END AS dep_tenant,
                   CASE WHEN pg_catalog.jsonb_typeof(x) = 'number' AND l.id IS NULL
                        THEN coalesce(h.status, 'unknown') END AS status,
                   h.last_error, coalesce(l.task_identifier, h.task_identifier) AS dep_task
              FROM pg_catalog.unnest(p_depends_on) WITH ORDINALITY AS d (deps, i)
             CROSS JOIN LATERAL pg_catalog.jsonb_array_elements(d.deps) WITH ORDINALITY AS e (x, n)
              LEFT JOIN app_jobs.jobs AS l
                     ON l.id = CASE WHEN pg_catalog.jsonb_typeof(x) = 'number' THEN x::text::bigint END
              LEFT JOIN LATERAL (SELECT y.status, y.database_id, y.task_identifier, y.last_error
                                   FROM app_jobs.job_history AS y
                                  WHERE l.id IS NULL
                                    AND y.id = CASE WHEN pg_catalog.jsonb_typeof(x) = 'number' THEN x::text::bigint END
                                  LIMIT 1) AS h ON true
             WHERE d.deps IS NOT NULL) AS c
     WHERE c.status IN ('unknown', 'failed', 'cancelled') OR c.dep_tenant <> c.database_id
     ORDER BY c.i
     LIMIT 1
  LOOP
    v_where := CASE WHEN p_fn = 'add_job' THEN 'add_job: '
                    ELSE pg_catalog.format('%s: element %s: ', p_fn, v_bad.i) END;
    IF v_bad.status = 'unknown'
       OR (v_bad.depends_on_id IS NOT NULL AND v_bad.dep_tenant <> v_bad.database_id
           AND app_jobs._tenant(NULL, p_fn) IS NOT NULL) THEN
      -- Under tenant isolation another tenant's job does not exist for this session (PJ211,
      -- not PJ212: the error must not tell that the id is taken).
      RAISE EXCEPTION USING
        ERRCODE = 'PJ211',
        MESSAGE = v_where || pg_catalog.format('dependency job %s does not exist', v_bad.depends_on_id),
        DETAIL = 'It is neither waiting, running nor in the history (a finished job leaves the history at cleanup_jobs).',
        HINT = 'Pass the id of a job enqueued before this one (and committed), e.g. the id add_job returned; in add_jobs, {"element": k} names the job of element k.';
    ELSIF v_bad.dep_tenant <> v_bad.database_id THEN
      RAISE EXCEPTION USING
        ERRCODE = 'PJ212',
        MESSAGE = v_where || pg_catalog.format('dependency %s belongs to another tenant',
                                               coalesce('job ' || v_bad.depends_on_id, v_bad.item::text)),
        HINT = 'A job may only depend on jobs of its own tenant (db_id).';
    ELSE
      RAISE EXCEPTION USING
        ERRCODE = 'PJ213',
        MESSAGE = v_where || pg_catalog.format('dependency job %s (%s) %s: this job could never run', v_bad.depends_on_id,
                                               v_bad.dep_task, CASE WHEN v_bad.status = 'failed' THEN 'failed' ELSE 'was cancelled' END),
        DETAIL = pg_catalog.format('last_error = %s', coalesce(pg_catalog.quote_literal(pg_catalog.left(v_bad.last_error, 200)), 'NULL')),
        HINT = 'Rerun the dependency (rerun_job) and depend on the new job, or enqueue without it.';
    END IF;
  END LOOP;

  -- 3. The jobs, as a plain enqueue writes them (element order).
  v_rows := ARRAY(SELECT r FROM app_jobs._add_jobs(p_specs, p_correlation_ids, p_backoffs, p_timeouts,
                                                    p_fn, p_key_mode) AS r);

  -- 4. The edges. Every dependency still in app_jobs.jobs is locked (again, for those of
  --    step 2; a job of this call named by position is this transaction's, or one a job key
  --    returned), and every edge checked again: only a job an unsafe_dedupe key returned can
  --    have finished meanwhile; the job itself is never named (its id did not exist, PJ211).
  -- Scalar arrays, not v_rows[i]: subscripting an array of rows costs in proportion to the
  -- array, which made a large pipeline quadratic.
  v_ids := ARRAY(SELECT r.id FROM pg_catalog.unnest(v_rows) AS r);
  v_dbs := ARRAY(SELECT r.database_id FROM pg_catalog.unnest(v_rows) AS r);
  SELECT pg_catalog.array_agg(d.i::integer ORDER BY d.i, x.n),
         pg_catalog.array_agg(v_ids[d.i] ORDER BY d.i, x.n),
         pg_catalog.array_agg(v_dbs[d.i] ORDER BY d.i, x.n),
         pg_catalog.array_agg(CASE WHEN pg_catalog.jsonb_typeof(x.v) = 'number' THEN x.v::text::bigint
                                   ELSE v_ids[(x.v ->> 'element')::integer] END ORDER BY d.i, x.n),
         pg_catalog.array_agg(CASE WHEN pg_catalog.jsonb_typeof(x.v) = 'object'
                                   THEN (x.v ->> 'element')::integer END ORDER BY d.i, x.n)
    INTO v_e_i, v_e_job, v_e_db, v_e_dep, v_e_element
    FROM pg_catalog.unnest(p_depends_on) WITH ORDINALITY AS d (deps, i),
         pg_catalog.jsonb_array_elements(d.deps) WITH ORDINALITY AS x (v, n)
   WHERE d.deps IS NOT NULL;
  IF v_e_i IS NULL THEN
    RETURN QUERY SELECT * FROM pg_catalog.unnest(v_rows);
    RETURN;
  END IF;
  v_live := ARRAY(SELECT j.id FROM app_jobs.jobs AS j
                   WHERE j.id = ANY (v_e_dep)
                   ORDER BY j.id
                     FOR KEY SHARE OF j);
  FOR v_bad IN
    SELECT e.i, e.job_id, e.depends_on_id, e.element, e.database_id,
           l.id IS NOT NULL AS live,
           coalesce(l.database_id, h.database_id) AS dep_tenant, h.status, h.last_error,
           coalesce(l.task_identifier, h.task_identifier) AS dep_task
      FROM ROWS FROM (pg_catalog.unnest(v_e_i), pg_catalog.unnest(v_e_job), pg_catalog.unnest(v_e_db), pg_catalog.unnest(v_e_dep), pg_catalog.unnest(v_e_element))
             AS e (i, job_id, database_id, depends_on_id, element)
      LEFT JOIN app_jobs.jobs AS l ON l.id = e.depends_on_id
      LEFT JOIN LATERAL (SELECT y.status, y.database_id, y.task_identifier, y.last_error
                           FROM app_jobs.job_history AS y
                          WHERE y.id = e.depends_on_id AND l.id IS NULL
                          LIMIT 1) AS h ON true
     WHERE e.depends_on_id = e.job_id OR e.element >= e.i
        OR l.id IS NULL AND (h.status IS NULL OR h.status <> 'completed')
        OR coalesce(l.database_id, h.database_id) <> e.database_id
     ORDER BY e.i, e.depends_on_id
     LIMIT 1
  LOOP
    v_where := CASE WHEN p_fn = 'add_job' THEN 'add_job: '
                    ELSE pg_catalog.format('%s: element %s: ', p_fn, v_bad.i) END;
    IF v_bad.depends_on_id = v_bad.job_id OR v_bad.element >= v_bad.i THEN
      RAISE EXCEPTION USING
        ERRCODE = 'PJ210',
        MESSAGE = v_where || pg_catalog.format('depends_on names job %s, which this call enqueues as %s', v_bad.depends_on_id,
                                               CASE WHEN v_bad.element = v_bad.i THEN 'this very job' ELSE 'a later element' END),
        HINT = 'A job may depend on existing jobs and on earlier elements of the same add_jobs call only (so no cycle can form).';
    ELSIF NOT v_bad.live AND v_bad.status IS NULL THEN
      RAISE EXCEPTION USING
        ERRCODE = 'PJ211',
        MESSAGE = v_where || pg_catalog.format('dependency job %s does not exist', v_bad.depends_on_id),
        DETAIL = 'It is neither waiting, running nor in the history (a finished job leaves the history at cleanup_jobs).',
        HINT = 'Pass the id of a job enqueued before this one (and committed), e.g. the id add_job returned.';
    ELSIF v_bad.dep_tenant <> v_bad.database_id THEN
      RAISE EXCEPTION USING
        ERRCODE = 'PJ212',
        MESSAGE = v_where || pg_catalog.format('dependency job %s belongs to another tenant', v_bad.depends_on_id),
        HINT = 'A job may only depend on jobs of its own tenant (db_id).';
    ELSE
      RAISE EXCEPTION USING
        ERRCODE = 'PJ213',
        MESSAGE = v_where || pg_catalog.format('dependency job %s (%s) %s: this job could never run', v_bad.depends_on_id,
                                               v_bad.dep_task, CASE WHEN v_bad.status = 'failed' THEN 'failed' ELSE 'was cancelled' END),
        DETAIL = pg_catalog.format('last_error = %s', coalesce(pg_catalog.quote_literal(pg_catalog.left(v_bad.last_error, 200)), 'NULL')),
        HINT = 'Rerun the dependency (rerun_job) and depend on the new job, or enqueue without it.';
    END IF;
  END LOOP;

  -- 5. Edges, flags, and the wait.
  INSERT INTO app_jobs.job_dependencies (depends_on_id, job_id, database_id)
  SELECT e.depends_on_id, e.job_id, e.database_id FROM ROWS FROM (pg_catalog.unnest(v_e_i), pg_catalog.unnest(v_e_job), pg_catalog.unnest(v_e_db), pg_catalog.unnest(v_e_dep), pg_catalog.unnest(v_e_element))
             AS e (i, job_id, database_id, depends_on_id, element)
  ON CONFLICT DO NOTHING;
  UPDATE app_jobs.jobs AS j
     SET has_dependants = true
   WHERE j.id = ANY (v_live) AND NOT j.has_dependants;
  UPDATE app_jobs.jobs AS j
     SET pending_dependencies = c.n,
         state = CASE WHEN c.n > 0 THEN 'waiting' ELSE j.state END
    FROM (SELECT e.job_id, pg_catalog.count(DISTINCT e.depends_on_id) FILTER (
                   WHERE EXISTS (SELECT 1 FROM app_jobs.jobs AS l WHERE l.id = e.depends_on_id)) AS n
            FROM ROWS FROM (pg_catalog.unnest(v_e_i), pg_catalog.unnest(v_e_job), pg_catalog.unnest(v_e_db), pg_catalog.unnest(v_e_dep), pg_catalog.unnest(v_e_element))
             AS e (i, job_id, database_id, depends_on_id, element)
           GROUP BY e.job_id) AS c
   WHERE j.id = c.job_id;

  RETURN QUERY
    SELECT (CASE WHEN j.id IS NULL THEN r.job ELSE j END).*
      FROM (SELECT u AS job, pg_catalog.row_number() OVER () AS i
              FROM pg_catalog.unnest(v_rows) AS u) AS r
      LEFT JOIN app_jobs.jobs AS j ON j.id = (r.job).id
     ORDER BY r.i;
END;
$$;

REVOKE ALL ON FUNCTION app_jobs._add_dependent_jobs(app_jobs.job_spec[], text[], jsonb[], interval[], text, text, jsonb[]) FROM PUBLIC;

COMMENT ON FUNCTION app_jobs._add_dependent_jobs(app_jobs.job_spec[], text[], jsonb[], interval[], text, text, jsonb[]) IS
  'Internal: enqueues jobs that wait for others (add_job / add_jobs with depends_on): p_depends_on[i] is element i''s dependencies, job ids and {"element": k} (an earlier element of the call). The dependencies are locked against their finish; completed ones are met, failed or cancelled ones refused (PJ213), unknown ones PJ211, another tenant''s PJ212; a job waits (state waiting) for the others.';

COMMIT;
