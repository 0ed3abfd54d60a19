-- Deploy pgjobs:functions/_job_claim_rules to pg
-- requires: schema
-- The rules every row of app_jobs.jobs keeps, whoever writes it (the claim and the finish
-- included): a known state; locked_by and locked_at set exactly when the job runs; attempts
-- and pending dependencies not negative; a waiting job has dependencies pending. Until 0.6.0
-- they were five CHECK constraints of the table. PostgreSQL reads a table's CHECK
-- constraints from their stored node text and compiles them again for every statement that
-- writes the table: those five were 4,300 characters of text, an eighth of the instructions
-- of a job's claim and finish (make bench-cpu). They are now one CHECK constraint calling
-- this function, whose plan PL/pgSQL compiles once per session: a job's claim and finish went
-- from 1,212,000 to 1,123,000 instructions (make bench-cpu, PostgreSQL 15).
-- No SET search_path, unlike the other functions: it runs once per row written (a claim of
-- 100 jobs, then their start_jobs, call it 200 times), and a SET clause costs each call about
-- 14,000 instructions (a buffered worker's round: 264,000 per job pinned, 249,000 without).
-- Every type, operator and function in it is schema-qualified, it reads no table, and only
-- the owner's writes reach it (SECURITY DEFINER callers with a pinned search_path), so no
-- search_path can change what it means (tests/sql/test_privileges.py keeps these rules).
-- Returns true when the row keeps every rule; otherwise raises check_violation naming the
-- rule it breaks (the name of the constraint it replaced), so the error says the same as
-- before. A rule whose test is NULL passes, as a CHECK's does. IMMUTABLE: it reads nothing.

BEGIN;

CREATE FUNCTION app_jobs._job_claim_rules(p_id bigint, p_state text, p_locked_by text,
                                          p_locked_at timestamptz, p_attempts integer,
                                          p_pending_dependencies integer)
RETURNS boolean
LANGUAGE plpgsql
IMMUTABLE
PARALLEL SAFE
AS $$
DECLARE
  v_rule pg_catalog.text;
  v_detail pg_catalog.text;
BEGIN
  -- The rows almost every write leaves, a job claimed (running, locked) or waiting to be
  -- (ready, unlocked), pass one short test: PL/pgSQL compiles each expression it evaluates
  -- once per transaction, and a claim's transaction evaluates only this one (0.6.0; `make
  -- bench-cpu`: a claim and finish 9,000 instructions fewer than with the CASE below alone,
  -- an add_job 8,000). It passes exactly the rows of these two states that the CASE passes
  -- (tests/sql/test_job_shape_rules.py compares the function with the 0.5.0 constraints).
  IF p_attempts OPERATOR(pg_catalog.>=) 0
     AND (p_pending_dependencies IS NULL OR p_pending_dependencies OPERATOR(pg_catalog.>=) 0)
     AND ((p_state OPERATOR(pg_catalog.=) 'running' AND p_locked_by IS NOT NULL AND p_locked_at IS NOT NULL)
          OR (p_state OPERATOR(pg_catalog.=) 'ready' AND p_locked_by IS NULL AND p_locked_at IS NULL)) THEN
    RETURN true;
  END IF;
  -- The first rule the row breaks, else NULL: each rule once, as its CHECK constraint was
  -- (a rule whose test is NULL passes, as a CHECK's does). One expression for every row.
  v_rule := CASE
    WHEN (p_state OPERATOR(pg_catalog.=) ANY ('{ready,scheduled,blocked,running,paused,waiting}'::pg_catalog.text[])) IS FALSE
      THEN 'jobs_state_check'
    WHEN ((p_state OPERATOR(pg_catalog.=) 'running') OPERATOR(pg_catalog.=) (p_locked_by IS NOT NULL)
          AND (p_locked_by IS NULL) OPERATOR(pg_catalog.=) (p_locked_at IS NULL)) IS FALSE
      THEN 'jobs_lock_check'
    WHEN (p_attempts OPERATOR(pg_catalog.>=) 0) IS FALSE
      THEN 'jobs_attempts_check'
    WHEN (p_pending_dependencies OPERATOR(pg_catalog.>=) 0) IS FALSE
      THEN 'jobs_pending_dependencies_check'
    WHEN (p_state OPERATOR(pg_catalog.<>) 'waiting' OR p_pending_dependencies OPERATOR(pg_catalog.>) 0) IS FALSE
      THEN 'jobs_waiting_check'
  END;
  IF v_rule IS NULL THEN
    RETURN true;
  END IF;
  v_detail := CASE
    WHEN v_rule OPERATOR(pg_catalog.=) 'jobs_state_check'
      THEN pg_catalog.format('state %L is not one of ready, scheduled, blocked, running, paused, waiting.', p_state)
    WHEN v_rule OPERATOR(pg_catalog.=) 'jobs_lock_check'
      THEN pg_catalog.format('state %L with locked_by %s and locked_at %s: a running job has both, any other neither.',
                             p_state, coalesce(pg_catalog.quote_literal(p_locked_by), 'NULL'),
                             coalesce(p_locked_at::pg_catalog.text, 'NULL'))
    WHEN v_rule OPERATOR(pg_catalog.=) 'jobs_attempts_check'
      THEN pg_catalog.format('attempts %s is negative.', p_attempts)
    WHEN v_rule OPERATOR(pg_catalog.=) 'jobs_pending_dependencies_check'
      THEN pg_catalog.format('pending_dependencies %s is negative.', p_pending_dependencies)
    ELSE 'a waiting job has dependencies pending (pending_dependencies above 0).'
  END;
  RAISE EXCEPTION USING
    ERRCODE = 'check_violation',
    MESSAGE = pg_catalog.format('new row for relation "jobs" violates check constraint "%s"', v_rule),
    DETAIL = pg_catalog.format('Job %s: %s', coalesce(p_id::pg_catalog.text, 'NULL'), v_detail),
    HINT = 'Write app_jobs.jobs through the app_jobs functions only.',
    SCHEMA = 'app_jobs',
    TABLE = 'jobs',
    CONSTRAINT = v_rule;
END
$$;

REVOKE ALL ON FUNCTION app_jobs._job_claim_rules(bigint, text, text, timestamptz, integer, integer) FROM PUBLIC;

COMMENT ON FUNCTION app_jobs._job_claim_rules(bigint, text, text, timestamptz, integer, integer) IS
  'Internal: the rules every row of app_jobs.jobs keeps (state, lock, attempts, dependencies), its CHECK constraint jobs_rules_check since 0.6.0: true, or check_violation naming the rule (the constraint it replaced).';

COMMIT;
