-- Deploy pgjobs:functions/_enqueue_problem to pg
-- requires: schema
-- The checks of one enqueue element (app_jobs._add_jobs) as one expression: the first check
-- the element fails for sure ('identifier', 'max_attempts', 'job_key', 'queue_name',
-- 'correlation_id', 'timeout', 'run_at', in that order), else 'check' when its backoff or its
-- payload must go through app_jobs._check_backoff / app_jobs._check_payload (a backoff given;
-- a payload of 200 bytes of JSON or more, with an escape or with an exponent: only those can
-- fail _check_payload), else NULL (nothing to do). LANGUAGE sql, without SET search_path and
-- IMMUTABLE, so PostgreSQL inlines it: into _add_jobs' checking query over a whole batch (no
-- call per element) and into the one-element path's PL/pgSQL expression, which then runs with
-- no query at all (a cursor over the checking query was a fifth of an add_job call).

BEGIN;

CREATE FUNCTION app_jobs._enqueue_problem(p_identifier text, p_max_attempts integer,
                                          p_job_key text, p_queue_name text,
                                          p_correlation_id text, p_timeout interval,
                                          p_run_at timestamptz, p_payload json,
                                          p_backoff jsonb)
RETURNS text
LANGUAGE sql
IMMUTABLE
PARALLEL SAFE
AS $$
  SELECT CASE
           WHEN p_identifier IS NULL OR p_identifier OPERATOR(pg_catalog.=) ''
                OR pg_catalog.length(p_identifier) OPERATOR(pg_catalog.>) 255 THEN 'identifier'
           WHEN coalesce(p_max_attempts, 25) OPERATOR(pg_catalog.<) 1 THEN 'max_attempts'
           WHEN p_job_key OPERATOR(pg_catalog.=) ''
                OR pg_catalog.length(p_job_key) OPERATOR(pg_catalog.>) 512 THEN 'job_key'
           WHEN p_queue_name OPERATOR(pg_catalog.=) ''
                OR pg_catalog.length(p_queue_name) OPERATOR(pg_catalog.>) 255 THEN 'queue_name'
           WHEN p_correlation_id OPERATOR(pg_catalog.=) ''
                OR pg_catalog.length(p_correlation_id) OPERATOR(pg_catalog.>) 255 THEN 'correlation_id'
           WHEN p_timeout OPERATOR(pg_catalog.<=) '0'::pg_catalog.interval
                OR p_timeout OPERATOR(pg_catalog.>) '7 days'::pg_catalog.interval THEN 'timeout'
           WHEN NOT pg_catalog.isfinite(p_run_at)
                OR p_run_at OPERATOR(pg_catalog.<) '0001-01-02 00:00:00+00'::pg_catalog.timestamptz
                OR p_run_at OPERATOR(pg_catalog.>) '9999-12-30 00:00:00+00'::pg_catalog.timestamptz THEN 'run_at'
           WHEN p_backoff IS NOT NULL
                OR pg_catalog.octet_length(p_payload::pg_catalog.text) OPERATOR(pg_catalog.>=) 200
                OR pg_catalog.strpos(p_payload::pg_catalog.text, '\u') OPERATOR(pg_catalog.>) 0
                OR p_payload::pg_catalog.text OPERATOR(pg_catalog.~) '[0-9][eE]' THEN 'check'
         END
$$;

REVOKE ALL ON FUNCTION app_jobs._enqueue_problem(text, integer, text, text, text, interval, timestamptz, json, jsonb) FROM PUBLIC;

COMMENT ON FUNCTION app_jobs._enqueue_problem(text, integer, text, text, text, interval, timestamptz, json, jsonb) IS
  'Internal (inlined into app_jobs._add_jobs): the first check an enqueue element fails for sure (identifier, max_attempts, job_key, queue_name, correlation_id, timeout, run_at), else check when its backoff or payload must go through _check_backoff / _check_payload, else NULL.';

COMMIT;
