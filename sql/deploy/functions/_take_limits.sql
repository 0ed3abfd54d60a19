-- Deploy pgjobs:functions/_take_limits to pg
-- requires: tables/job_limits
-- requires: tables/jobs
-- Limits (0.5.0): whether the claim (get_jobs) may start one more job of tenant p_database_id
-- and task p_task, under every limit of app_jobs.job_limits that matches it (its own, its
-- tenant's, its task's), and if so takes a slot and a token of each. The claim calls it only
-- when limits exist, and keeps the state of the limits it touched during the call in the
-- INOUT arrays (parallel, one entry per limit: id, room = running slots left, tokens = starts
-- left), so each limit is locked and counted once per call:
--   - the first time a limit is met, its row is taken FOR UPDATE: the claims of one limit
--     then run one at a time until they commit, and the count of its running jobs (state
--     'running': started and buffered jobs; through jobs_running_task_idx or
--     jobs_running_tenant_idx, made with the first limit) is exact. Jobs this call has already taken are not running
--     yet and count through room, which this call decrements;
--   - a rate limit is a token bucket: max_starts tokens at most, refilled at max_starts per
--     per_period since refilled_at; a start takes one; get_jobs writes the bucket back;
--   - deadlock-free: the call waits for a limit row only while it holds no other one (its
--     first); any later one is taken with SKIP LOCKED and, when another claim holds it,
--     counts as full for the rest of this call.
-- A limit with no room (or no token, or held by another claim) is full: its keys are added to
-- p_full_tenants/p_full_tasks, which the claim's candidate query passes over for the rest of the
-- call (p_new_full says one was added). A limit removed meanwhile no longer applies.
-- The claim must run in READ COMMITTED (the default; PJ229 otherwise): a snapshot older than the
-- row lock would not see the claims committed meanwhile.

BEGIN;

CREATE FUNCTION app_jobs._take_limits(
  p_database_id uuid,
  p_task text,
  INOUT p_ids bigint[],
  INOUT p_room integer[],
  INOUT p_tokens double precision[],
  INOUT p_full_tenants uuid[],
  INOUT p_full_tasks text[],
  OUT p_ok boolean,
  OUT p_new_full boolean)
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v_lim record;
  v_row app_jobs.job_limits;
  v_i integer;
  v_hits integer[] := '{}'::integer[];
  v_running bigint;
BEGIN
  p_ok := true;
  p_new_full := false;
  -- The limits that match: each of the three key shapes is one probe of job_limits_key.
  FOR v_lim IN
    SELECT l.id, l.database_id, l.task_identifier FROM app_jobs.job_limits AS l
     WHERE l.database_id = p_database_id AND l.task_identifier = p_task
    UNION ALL
    SELECT l.id, l.database_id, l.task_identifier FROM app_jobs.job_limits AS l
     WHERE l.database_id = p_database_id AND l.task_identifier IS NULL
    UNION ALL
    SELECT l.id, l.database_id, l.task_identifier FROM app_jobs.job_limits AS l
     WHERE l.database_id IS NULL AND l.task_identifier = p_task
     ORDER BY 1
  LOOP
    v_i := pg_catalog.array_position(p_ids, v_lim.id);
    IF v_i IS NULL THEN
      IF pg_catalog.cardinality(p_ids) = 0 THEN
        -- The count below must see the claims committed while we waited for the row: only
        -- READ COMMITTED takes a new snapshot per statement.
        IF pg_catalog.current_setting('transaction_isolation') <> 'read committed' THEN
          RAISE EXCEPTION USING
            ERRCODE = 'PJ229',
            MESSAGE = pg_catalog.format('get_jobs: a job limit needs the claim to run in READ COMMITTED, not %s',
                                        pg_catalog.upper(pg_catalog.current_setting('transaction_isolation'))),
            DETAIL = pg_catalog.format('A limit of task %s, tenant %s matches a claimable job.',
                                       coalesce(v_lim.task_identifier, '(any)'), coalesce(v_lim.database_id::text, '(all)')),
            HINT = 'Call get_job/get_jobs in its own READ COMMITTED transaction (autocommit, as workers do).';
        END IF;
        SELECT l.* INTO v_row FROM app_jobs.job_limits AS l WHERE l.id = v_lim.id FOR UPDATE;
        CONTINUE WHEN NOT FOUND;  -- removed while we waited: it no longer applies
      ELSE
        SELECT l.* INTO v_row FROM app_jobs.job_limits AS l WHERE l.id = v_lim.id FOR UPDATE SKIP LOCKED;
        IF NOT FOUND THEN
          -- Another claim holds it (or it was just removed): full for the rest of this call.
          p_ok := false;
          p_new_full := true;
          p_full_tenants := p_full_tenants || v_lim.database_id;
          p_full_tasks := p_full_tasks || v_lim.task_identifier;
          RETURN;
        END IF;
      END IF;
      v_running := NULL;
      IF v_row.max_running IS NOT NULL THEN
        IF v_row.task_identifier IS NULL THEN
          SELECT pg_catalog.count(*) INTO v_running FROM app_jobs.jobs AS j
           WHERE j.state = 'running' AND j.database_id = v_row.database_id;
        ELSIF v_row.database_id IS NULL THEN
          SELECT pg_catalog.count(*) INTO v_running FROM app_jobs.jobs AS j
           WHERE j.state = 'running' AND j.task_identifier = v_row.task_identifier;
        ELSE
          SELECT pg_catalog.count(*) INTO v_running FROM app_jobs.jobs AS j
           WHERE j.state = 'running' AND j.task_identifier = v_row.task_identifier
             AND j.database_id = v_row.database_id;
        END IF;
      END IF;
      p_ids := p_ids || v_row.id;
      p_room := p_room || (v_row.max_running - v_running)::integer;
      p_tokens := p_tokens || LEAST(
        v_row.max_starts::double precision,
        v_row.tokens + GREATEST(0, pg_catalog.date_part('epoch', pg_catalog.now() - v_row.refilled_at))
                       / pg_catalog.date_part('epoch', v_row.per_period) * v_row.max_starts);
      v_i := pg_catalog.cardinality(p_ids);
    END IF;
    IF p_room[v_i] <= 0 OR p_tokens[v_i] < 1 THEN
      p_ok := false;
      IF p_room[v_i] IS DISTINCT FROM -2147483648 THEN
        -- First time full in this call: mark it (room -2^31 = already listed as full).
        p_new_full := true;
        p_full_tenants := p_full_tenants || v_lim.database_id;
        p_full_tasks := p_full_tasks || v_lim.task_identifier;
        p_room[v_i] := -2147483648;
      END IF;
      RETURN;
    END IF;
    v_hits := v_hits || v_i;
  END LOOP;
  -- Room everywhere: take a slot and a token of each matching limit.
  FOREACH v_i IN ARRAY v_hits LOOP
    p_room[v_i] := p_room[v_i] - 1;
    p_tokens[v_i] := p_tokens[v_i] - 1;
  END LOOP;
END;
$$;

REVOKE ALL ON FUNCTION app_jobs._take_limits(uuid, text, bigint[], integer[], double precision[], uuid[], text[]) FROM PUBLIC;

COMMENT ON FUNCTION app_jobs._take_limits(uuid, text, bigint[], integer[], double precision[], uuid[], text[]) IS
  'Internal (get_jobs, limits): whether one more job of tenant p_database_id and task p_task may start under every matching limit of app_jobs.job_limits, taking a running slot and a rate token of each when it may. Locks each limit row once per call (waiting only for the first, SKIP LOCKED after), counts its running jobs, refills its token bucket; the INOUT arrays carry the call''s state. A full limit''s keys are added to p_full_tenants/p_full_tasks.';

COMMIT;
