-- Deploy pgjobs:functions/_fair_tenants to pg
-- requires: tables/jobs
-- Tenant fairness (0.5.0): the next p_max tenants (database_id) that have claimable jobs of
-- priority p_priority, in database_id order starting after p_after and wrapping around to the
-- lowest (p_after itself last; NULL: from the lowest). A loose index scan: one descent of
-- jobs_fair_idx (priority, database_id, run_at, id) per tenant listed, so the cost is that of
-- p_max tenants whatever their number and backlogs. get_jobs calls it in fair mode only, when
-- set_tenant_fairness has made that index.

BEGIN;

CREATE FUNCTION app_jobs._fair_tenants(p_priority integer, p_after uuid, p_max integer)
RETURNS uuid[]
LANGUAGE plpgsql
STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v_up uuid[];
  v_down uuid[];
BEGIN
  IF p_after IS NOT NULL THEN
    WITH RECURSIVE t (d, n) AS (
      SELECT (SELECT j.database_id FROM app_jobs.jobs AS j
               WHERE j.state = 'ready' AND j.priority = p_priority AND j.database_id > p_after
               ORDER BY j.database_id LIMIT 1), 1
      UNION ALL
      SELECT (SELECT j.database_id FROM app_jobs.jobs AS j
               WHERE j.state = 'ready' AND j.priority = p_priority AND j.database_id > t.d
               ORDER BY j.database_id LIMIT 1), t.n + 1
        FROM t
       WHERE t.d IS NOT NULL AND t.n < p_max)
    SELECT pg_catalog.array_agg(t.d ORDER BY t.n) FILTER (WHERE t.d IS NOT NULL) INTO v_up FROM t;
  END IF;
  v_up := coalesce(v_up, '{}'::uuid[]);
  IF pg_catalog.cardinality(v_up) < p_max THEN
    -- Wrap around: from the lowest tenant up to p_after (included).
    WITH RECURSIVE t (d, n) AS (
      SELECT (SELECT j.database_id FROM app_jobs.jobs AS j
               WHERE j.state = 'ready' AND j.priority = p_priority
               ORDER BY j.database_id LIMIT 1), 1
      UNION ALL
      SELECT (SELECT j.database_id FROM app_jobs.jobs AS j
               WHERE j.state = 'ready' AND j.priority = p_priority AND j.database_id > t.d
               ORDER BY j.database_id LIMIT 1), t.n + 1
        FROM t
       WHERE t.d IS NOT NULL AND t.n < p_max - pg_catalog.cardinality(v_up)
         AND (p_after IS NULL OR t.d < p_after))
    SELECT pg_catalog.array_agg(t.d ORDER BY t.n) FILTER (WHERE t.d IS NOT NULL AND (p_after IS NULL OR t.d <= p_after))
      INTO v_down FROM t;
  END IF;
  RETURN v_up || coalesce(v_down, '{}'::uuid[]);
END;
$$;

REVOKE ALL ON FUNCTION app_jobs._fair_tenants(integer, uuid, integer) FROM PUBLIC;

COMMENT ON FUNCTION app_jobs._fair_tenants(integer, uuid, integer) IS
  'Internal (get_jobs, tenant fairness): the next p_max tenants with claimable jobs of priority p_priority, in database_id order after p_after, wrapping around (p_after last). A loose scan of jobs_fair_idx: one index descent per tenant listed.';

COMMIT;
