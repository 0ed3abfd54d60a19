-- Revert pgjobs:functions/_check_backoff from pg
-- Back to the 0.3.0 definition (deploy/functions/_check_backoff@v0.3.0.sql).
-- Retry delay options are a small JSON object, so any language can pass them:
--   {"strategy": "exponential" | "linear" | "fixed" | "none", "base": seconds, "cap": seconds,
--    "jitter": 0..1}
-- Every key is optional. This checks them where they come in (add_job, fail_job), so a bad
-- option fails the call that gave it, not a retry hours later.

BEGIN;

CREATE OR REPLACE FUNCTION app_jobs._check_backoff(p_backoff jsonb, p_caller text)
RETURNS void
LANGUAGE plpgsql
IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v_problem text;
BEGIN
  IF p_backoff IS NULL THEN
    RETURN;
  END IF;
  IF pg_catalog.jsonb_typeof(p_backoff) <> 'object' THEN
    v_problem := 'it is not a JSON object';
  ELSIF EXISTS (SELECT 1 FROM pg_catalog.jsonb_object_keys(p_backoff) AS k
                 WHERE k NOT IN ('strategy', 'base', 'cap', 'jitter')) THEN
    v_problem := 'only the keys strategy, base, cap and jitter are known';
  ELSIF p_backoff ? 'strategy'
        AND coalesce(p_backoff ->> 'strategy', '') NOT IN ('exponential', 'linear', 'fixed', 'none') THEN
    v_problem := 'strategy must be "exponential", "linear", "fixed" or "none"';
  ELSIF EXISTS (SELECT 1 FROM pg_catalog.unnest(ARRAY['base', 'cap']) AS k
                 WHERE p_backoff ? k
                   AND (pg_catalog.jsonb_typeof(p_backoff -> k) <> 'number'
                        OR (p_backoff ->> k)::numeric <= 0
                        OR (p_backoff ->> k)::numeric > 31622400)) THEN
    v_problem := 'base and cap must be numbers of seconds above 0 and at most a year (31622400)';
  ELSIF p_backoff ? 'jitter'
        AND (pg_catalog.jsonb_typeof(p_backoff -> 'jitter') <> 'number'
             OR (p_backoff ->> 'jitter')::numeric < 0 OR (p_backoff ->> 'jitter')::numeric > 1) THEN
    v_problem := 'jitter must be a number from 0 to 1';
  END IF;
  IF v_problem IS NOT NULL THEN
    RAISE EXCEPTION USING
      ERRCODE = 'PJ117',
      MESSAGE = pg_catalog.format('%s: invalid backoff %s: %s', p_caller, p_backoff, v_problem),
      HINT = 'Pass e.g. ''{"strategy": "exponential", "base": 2, "cap": 600, "jitter": 0.1}'' (seconds), or NULL for the default.';
  END IF;
END;
$$;

REVOKE ALL ON FUNCTION app_jobs._check_backoff(jsonb, text) FROM PUBLIC;

COMMENT ON FUNCTION app_jobs._check_backoff(jsonb, text) IS
  'Internal: raises PJ117 unless p_backoff is NULL or valid retry delay options ({"strategy": "exponential"|"linear"|"fixed"|"none", "base": s, "cap": s, "jitter": 0-1}).';

COMMIT;
