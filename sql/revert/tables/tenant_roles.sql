-- Revert pgjobs:tables/tenant_roles from pg

BEGIN;

DROP TABLE app_jobs.tenant_roles;

COMMIT;
