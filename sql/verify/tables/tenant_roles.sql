-- Verify pgjobs:tables/tenant_roles on pg

BEGIN;

SELECT role_name, db_id, created_at FROM app_jobs.tenant_roles WHERE false;

ROLLBACK;
