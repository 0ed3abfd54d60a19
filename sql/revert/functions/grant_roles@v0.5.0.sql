-- Revert pgjobs:functions/grant_roles from pg

BEGIN;

DROP FUNCTION app_jobs.grant_roles(text, text, text);

COMMIT;
