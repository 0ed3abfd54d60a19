-- Revert pgjobs:functions/_payload_schema from pg

BEGIN;

DROP FUNCTION app_jobs._payload_schema(uuid, text);

COMMIT;
