-- Revert pgjobs:functions/_take_limits from pg

BEGIN;

DROP FUNCTION app_jobs._take_limits(uuid, text, bigint[], integer[], double precision[], uuid[], text[]);

COMMIT;
