-- Verify pgjobs:functions/set_tenant_fairness on pg

BEGIN;

SELECT 'app_jobs.set_tenant_fairness(boolean)'::pg_catalog.regprocedure;

ROLLBACK;
