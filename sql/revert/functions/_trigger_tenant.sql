-- Revert pgjobs:functions/_trigger_tenant from pg

BEGIN;

DROP FUNCTION app_jobs._trigger_tenant(text, text, text, text, text, text);

COMMIT;
