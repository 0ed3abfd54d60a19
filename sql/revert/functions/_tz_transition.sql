-- Revert pgjobs:functions/_tz_transition from pg

BEGIN;

DROP FUNCTION app_jobs._tz_transition(text, timestamptz, timestamptz);

COMMIT;
