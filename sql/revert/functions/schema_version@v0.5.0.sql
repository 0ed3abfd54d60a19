-- Revert pgjobs:functions/schema_version from pg
-- Back to the 0.4.0 definition (deploy/functions/schema_version@v0.4.0.sql).

BEGIN;

CREATE OR REPLACE FUNCTION app_jobs.schema_version()
RETURNS text
LANGUAGE sql
STABLE
PARALLEL SAFE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
  SELECT '0.4.0'::text
$$;

REVOKE ALL ON FUNCTION app_jobs.schema_version() FROM PUBLIC;

COMMENT ON FUNCTION app_jobs.schema_version() IS
  'The pgjobs release the app_jobs schema is at (''0.4.0''), however it was installed. Workers check it at start and refuse a schema newer than they understand. Added in 0.2.0: without it, the schema is at 0.1.0.';

COMMIT;
