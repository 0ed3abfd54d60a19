-- Revert pgjobs:functions/set_tenant_fairness from pg

BEGIN;

DROP INDEX IF EXISTS app_jobs.jobs_fair_idx;
DROP FUNCTION app_jobs.set_tenant_fairness(boolean);

COMMIT;
