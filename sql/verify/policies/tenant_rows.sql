-- Verify pgjobs:policies/tenant_rows on pg
-- Row level security is forced on jobs, and its two policies exist.

BEGIN;

SELECT 1 / (c.relrowsecurity AND c.relforcerowsecurity)::integer
  FROM pg_catalog.pg_class AS c WHERE c.oid = 'app_jobs.jobs'::pg_catalog.regclass;
SELECT 1 / (pg_catalog.count(*) = 2)::integer
  FROM pg_catalog.pg_policy AS p WHERE p.polrelid = 'app_jobs.jobs'::pg_catalog.regclass;

ROLLBACK;
