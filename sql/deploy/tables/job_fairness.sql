-- Deploy pgjobs:tables/job_fairness to pg
-- requires: schema
-- Tenant fairness (0.5.0), opt-in: while this table has its one row, the claim (get_jobs)
-- rotates across tenants (database_id) among the jobs of equal priority instead of taking them
-- oldest first, so a tenant with a large backlog does not starve one with a few jobs. The row
-- holds the rotation's cursor, last_served: the tenant of the last job a claim took; the next
-- claim starts with the tenant after it (by database_id, wrapping around). The claim writes it
-- without waiting (a claim that finds it locked by another leaves it), so it is not a point of
-- contention. set_tenant_fairness adds and removes the row.

BEGIN;

CREATE TABLE app_jobs.job_fairness (
  id boolean PRIMARY KEY DEFAULT true CONSTRAINT job_fairness_one_row_check CHECK (id),
  last_served uuid,
  enabled_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
  enabled_by text NOT NULL DEFAULT session_user
);

REVOKE ALL ON TABLE app_jobs.job_fairness FROM PUBLIC;

COMMENT ON TABLE app_jobs.job_fairness IS
  'Tenant fairness (set_tenant_fairness): while its one row exists the claim rotates across tenants among the jobs of equal priority. Write through set_tenant_fairness only.';
COMMENT ON COLUMN app_jobs.job_fairness.last_served IS 'Internal: the tenant of the last job a claim took; the next claim starts after it (written by the claim).';
COMMENT ON COLUMN app_jobs.job_fairness.enabled_by IS 'Login role (session_user) that turned fairness on.';

COMMIT;
