-- Revert pgjobs:functions/_settle_dependants from pg

BEGIN;

DROP FUNCTION app_jobs._settle_dependants(bigint, text, text);

COMMIT;
