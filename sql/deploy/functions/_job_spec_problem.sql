-- Deploy pgjobs:functions/_job_spec_problem to pg
-- requires: types/job_spec
-- The enqueue checks of one element as one expression, so the set-based path (a WHERE over a
-- whole batch) and the one-element path (add_job: an expression, no query) apply the same
-- rules. PL/pgSQL: one simple expression, evaluated without a query.

BEGIN;

CREATE FUNCTION app_jobs._job_spec_problem(p_spec app_jobs.job_spec, p_correlation_id text)
RETURNS text
LANGUAGE plpgsql
IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  RETURN CASE
           WHEN (p_spec).identifier IS NULL OR (p_spec).identifier = ''
                OR pg_catalog.length((p_spec).identifier) > 255 THEN 'identifier'
           WHEN coalesce((p_spec).max_attempts, 25) < 1 THEN 'max_attempts'
           WHEN (p_spec).job_key = '' OR pg_catalog.length((p_spec).job_key) > 512 THEN 'job_key'
           WHEN (p_spec).queue_name = '' OR pg_catalog.length((p_spec).queue_name) > 255 THEN 'queue_name'
           WHEN p_correlation_id = '' OR pg_catalog.length(p_correlation_id) > 255 THEN 'correlation_id'
         END;
END;
$$;

REVOKE ALL ON FUNCTION app_jobs._job_spec_problem(app_jobs.job_spec, text) FROM PUBLIC;

COMMENT ON FUNCTION app_jobs._job_spec_problem(app_jobs.job_spec, text) IS
  'Internal: which enqueue check one job_spec (with its correlation id) fails (identifier, max_attempts, job_key, queue_name, correlation_id), or NULL; shared by the set-based and the one-element path of _add_jobs.';

COMMIT;
