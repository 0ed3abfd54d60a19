-- Deploy pgjobs:schema to pg
-- The app_jobs schema holds every pgjobs object. PUBLIC gets nothing: access is granted
-- function by function (and, later, to roles), never by default.

BEGIN;

-- One installer per database. A schema app_jobs that exists already was installed some other
-- way (pgjobs deploy, sqitch, CREATE EXTENSION, by hand): say which, and how to go on, instead
-- of CREATE SCHEMA's bare "already exists". pgjobs deploy and sqitch never get here for their
-- own installs (they skip changes already applied).
DO $$
DECLARE
  v_installer text := CASE WHEN EXISTS (SELECT FROM pg_catalog.pg_extension WHERE extname = 'pgjobs')
                           THEN 'CREATE EXTENSION pgjobs' ELSE 'this install' END;
  v_by text;
  v_hint text;
  v_count bigint := 0;
BEGIN
  IF pg_catalog.to_regnamespace('app_jobs') IS NULL THEN
    RETURN;
  END IF;
  IF pg_catalog.to_regclass('sqitch.changes') IS NOT NULL THEN
    EXECUTE 'SELECT pg_catalog.count(*) FROM sqitch.changes WHERE project = ''pgjobs''' INTO v_count;
  END IF;
  IF pg_catalog.to_regclass('pgjobs_migrations._yoyo_migration') IS NOT NULL THEN
    v_by := 'pgjobs deploy (its record is in schema pgjobs_migrations)';
    v_hint := 'Keep upgrading it with pgjobs deploy. To switch to the extension: save the jobs you need, run pgjobs revert, then CREATE EXTENSION pgjobs.';
  ELSIF v_count > 0 THEN
    v_by := 'sqitch (its record is in sqitch.changes)';
    v_hint := 'Keep upgrading it with sqitch deploy. To switch: save the jobs you need, run sqitch revert, then install again.';
  ELSIF EXISTS (SELECT FROM pg_catalog.pg_extension e
                  JOIN pg_catalog.pg_depend d ON d.refobjid = e.oid AND d.deptype = 'e'
                 WHERE d.objid = 'app_jobs'::regnamespace AND d.classid = 'pg_catalog.pg_namespace'::regclass) THEN
    v_by := 'CREATE EXTENSION (it belongs to an extension)';
    v_hint := 'Upgrade it with ALTER EXTENSION pgjobs UPDATE; remove it with DROP EXTENSION pgjobs.';
  ELSE
    v_by := 'some other way (no pgjobs deploy, sqitch or extension record)';
    v_hint := 'Keep managing it that way, or drop it (DROP SCHEMA app_jobs CASCADE deletes every job) and install again.';
  END IF;
  RAISE EXCEPTION USING
    ERRCODE = 'PJ501',
    MESSAGE = pg_catalog.format('%s: schema app_jobs already exists, installed by %s', v_installer, v_by),
    HINT = v_hint;
END
$$;

CREATE SCHEMA app_jobs;

REVOKE ALL ON SCHEMA app_jobs FROM PUBLIC;

COMMENT ON SCHEMA app_jobs IS
  'pgjobs: a job queue whose whole logic lives in SQL. Enqueue with app_jobs.add_job(...), claim with app_jobs.get_job(...), finish with app_jobs.complete_job(...) or app_jobs.fail_job(...).';

COMMIT;
