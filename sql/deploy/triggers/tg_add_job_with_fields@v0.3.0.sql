-- Deploy pgjobs:triggers/tg_add_job_with_fields to pg
-- requires: functions/add_job
-- EXECUTE FUNCTION app_jobs.tg_add_job_with_fields('<tenant uuid>', '<task>', 'f1', 'f2', ...):
-- enqueues exactly the named fields of the row. Field names are looked up in the row's
-- JSON, never spliced into SQL, so any name is safe.
-- It runs with the rights of whoever writes the table (SECURITY INVOKER): turning the row
-- into JSON may call casts the table owner defined, which must never run as the owner of
-- app_jobs. Only app_jobs.add_job, which the writer needs EXECUTE on, runs as the owner.

BEGIN;

CREATE FUNCTION app_jobs.tg_add_job_with_fields()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v_row jsonb;
  v_payload jsonb := '{}'::jsonb;
  v_field text;
BEGIN
  -- Checked here, not by a cast error: an exception block would open a subtransaction for
  -- every row a bulk statement fires on. The pattern is exactly what uuid_in accepts.
  IF TG_LEVEL <> 'ROW' THEN
    RAISE EXCEPTION USING
      ERRCODE = 'PJ202',
      MESSAGE = pg_catalog.format('trigger %s on %I.%I: app_jobs.tg_add_job_with_fields must run FOR EACH ROW', TG_NAME, TG_TABLE_SCHEMA, TG_TABLE_NAME),
      HINT = 'Recreate the trigger with FOR EACH ROW.';
  END IF;
  IF TG_NARGS < 2 OR TG_ARGV[1] = '' THEN
    RAISE EXCEPTION USING
      ERRCODE = 'PJ202',
      MESSAGE = pg_catalog.format('trigger %s on %I.%I: app_jobs.tg_add_job_with_fields takes (tenant, task, field, ...), got %s arguments',
                                  TG_NAME, TG_TABLE_SCHEMA, TG_TABLE_NAME, TG_NARGS),
      HINT = 'EXECUTE FUNCTION app_jobs.tg_add_job_with_fields(''5b720132-17d5-424d-9bcb-ee7b17c13d43'', ''process_record'', ''field1'', ''field2'')';
  END IF;
  IF TG_ARGV[0] !~ '^([0-9a-fA-F]{4}(-?[0-9a-fA-F]{4}){7}|\{[0-9a-fA-F]{4}(-?[0-9a-fA-F]{4}){7}\})$' THEN
    RAISE EXCEPTION USING
      ERRCODE = 'PJ201',
      MESSAGE = pg_catalog.format('trigger %s on %I.%I: the tenant argument %L of app_jobs.tg_add_job_with_fields is not a uuid',
                                  TG_NAME, TG_TABLE_SCHEMA, TG_TABLE_NAME, TG_ARGV[0]),
      DETAIL = 'The first trigger argument is the tenant (database_id) the jobs belong to; the second is the task identifier.',
      HINT = 'Recreate the trigger with a real tenant uuid as its first argument, e.g. ''00000000-0000-0000-0000-000000000000'' for the default tenant.';
  END IF;
  IF TG_OP = 'DELETE' THEN
    v_row := pg_catalog.to_jsonb(OLD);
  ELSE
    v_row := pg_catalog.to_jsonb(NEW);
  END IF;
  FOR i IN 2 .. TG_NARGS - 1 LOOP
    v_field := TG_ARGV[i];
    IF NOT v_row ? v_field THEN
      RAISE EXCEPTION USING
        ERRCODE = 'PJ203',
        MESSAGE = pg_catalog.format('trigger %s on %I.%I: the table has no column %I', TG_NAME, TG_TABLE_SCHEMA, TG_TABLE_NAME, v_field),
        HINT = 'Pass only names of existing columns after the tenant and task arguments.';
    END IF;
    v_payload := v_payload || pg_catalog.jsonb_build_object(v_field, v_row -> v_field);
  END LOOP;
  PERFORM app_jobs.add_job(db_id := TG_ARGV[0]::uuid, identifier := TG_ARGV[1], payload := v_payload::json);
  IF TG_OP = 'DELETE' THEN
    RETURN OLD;
  END IF;
  RETURN NEW;
END;
$$;

REVOKE ALL ON FUNCTION app_jobs.tg_add_job_with_fields() FROM PUBLIC;

COMMENT ON FUNCTION app_jobs.tg_add_job_with_fields() IS
  'Trigger function (FOR EACH ROW; INSERT, UPDATE or DELETE). Arguments: tenant uuid, task identifier, then field names. Enqueues a job whose payload holds exactly the named fields of the row (OLD for DELETE). Runs with the rights of the writer of the table, who needs EXECUTE on app_jobs.add_job.';

COMMIT;
