-- Verify pgjobs:functions/_tz_transition on pg

BEGIN;

SELECT 'app_jobs._tz_transition(text, timestamptz, timestamptz)'::pg_catalog.regprocedure;

ROLLBACK;
