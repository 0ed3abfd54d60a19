-- Deploy pgjobs:functions/set_tenant_fairness to pg
-- requires: tables/job_fairness
-- requires: tables/jobs
-- requires: functions/_tenant
-- Tenant fairness (0.5.0), opt-in: turns the fair claim order on or off. On: adds the row of
-- app_jobs.job_fairness and builds jobs_fair_idx (claimable jobs by priority, tenant, run_at,
-- id), the index the fair claim walks; off: removes both. The index exists only while
-- fairness is on, so without fairness an enqueue and a claim cost exactly what they did. Its
-- build takes the SHARE lock of app_jobs.jobs for as long as it reads the claimable jobs
-- (enqueues and claims wait that long: about a second per million claimable jobs); turning
-- fairness on again, or off when it is off, changes nothing. A session bound to a tenant
-- (tenant isolation) may not change the order of every tenant's claims (PJ228).

BEGIN;

CREATE FUNCTION app_jobs.set_tenant_fairness(enabled boolean)
RETURNS boolean
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET lock_timeout = '10s'
AS $$
BEGIN
  IF enabled IS NULL THEN
    RAISE EXCEPTION USING
      ERRCODE = 'PJ226',
      MESSAGE = 'set_tenant_fairness: enabled must be true or false, got NULL',
      HINT = 'set_tenant_fairness(true) rotates claims across tenants; set_tenant_fairness(false) goes back to oldest first.';
  END IF;
  IF app_jobs._tenant(NULL, 'set_tenant_fairness') IS NOT NULL THEN
    RAISE EXCEPTION USING
      ERRCODE = 'PJ228',
      MESSAGE = 'set_tenant_fairness: a session bound to a tenant cannot change the claim order of every tenant',
      DETAIL = 'Tenant isolation is in use (roles mode or app_jobs.tenant) for this session.',
      HINT = 'Call it as an administrator whose login is bound to no tenant.';
  END IF;
  IF enabled THEN
    INSERT INTO app_jobs.job_fairness (id) VALUES (true) ON CONFLICT (id) DO NOTHING;
    CREATE INDEX IF NOT EXISTS jobs_fair_idx ON app_jobs.jobs (priority, database_id, run_at, id)
      WHERE state = 'ready';
    COMMENT ON INDEX app_jobs.jobs_fair_idx IS
      'Tenant fairness (made by set_tenant_fairness(true), dropped by (false)): claimable jobs by priority and tenant, for the fair claim''s loose scan.';
  ELSE
    DELETE FROM app_jobs.job_fairness;
    DROP INDEX IF EXISTS app_jobs.jobs_fair_idx;
  END IF;
  RETURN enabled;
EXCEPTION WHEN lock_not_available THEN
  RAISE EXCEPTION USING
    ERRCODE = 'PJ227',
    MESSAGE = 'set_tenant_fairness: app_jobs.jobs was not free within 10 seconds',
    DETAIL = 'Building or dropping the fair claim''s index waits for the transactions that hold app_jobs.jobs.',
    HINT = 'Retry; look for a long transaction in pg_stat_activity (state ''idle in transaction'').';
END;
$$;

REVOKE ALL ON FUNCTION app_jobs.set_tenant_fairness(boolean) FROM PUBLIC;

COMMENT ON FUNCTION app_jobs.set_tenant_fairness(boolean) IS
  'Tenant fairness, opt-in: enabled true makes every claim rotate across tenants (database_id) among the jobs of equal priority (never across priorities, never reordering a tenant''s jobs or a named queue), so a tenant with a large backlog does not starve one with a few jobs; false goes back to oldest first. On builds the index jobs_fair_idx (taking the SHARE lock of app_jobs.jobs while it reads the claimable jobs), off drops it: without fairness nothing else costs anything. Refused to a session bound to a tenant (PJ228). Returns enabled.';

COMMIT;
