-- Deploy pgjobs:functions/schema_version to pg
-- requires: functions/schema_version@v0.4.0
-- The pgjobs release this schema is at, whatever installed it (CREATE EXTENSION, pgjobs
-- deploy, sqitch): the answer is part of the schema itself, so it cannot disagree with it.
-- Every release reworks this change (sqitch rework functions/schema_version) to return its
-- own version; tests/install/test_release.py checks that the newest instance returns the
-- newest tag's version. 0.1.0 had no schema_version(): a client that finds none is at 0.1.0.

BEGIN;

CREATE OR REPLACE FUNCTION app_jobs.schema_version()
RETURNS text
LANGUAGE sql
STABLE
PARALLEL SAFE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
  SELECT '0.5.0'::text
$$;

REVOKE ALL ON FUNCTION app_jobs.schema_version() FROM PUBLIC;

COMMENT ON FUNCTION app_jobs.schema_version() IS
  'The pgjobs release the app_jobs schema is at (''0.5.0''), however it was installed. Workers check it at start and refuse a schema newer than they understand. Added in 0.2.0: without it, the schema is at 0.1.0.';

COMMIT;
