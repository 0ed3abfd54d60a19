-- Verify pgjobs:triggers/tenant_roles_used on pg

BEGIN;

SELECT 1 / pg_catalog.count(*)::integer FROM pg_catalog.pg_trigger
 WHERE tgrelid = 'app_jobs.tenant_roles'::pg_catalog.regclass AND tgname = 'tenant_roles_used'
   AND tgenabled = 'A';

ROLLBACK;
