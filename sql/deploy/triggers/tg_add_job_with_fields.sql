-- Deploy pgjobs:triggers/tg_add_job_with_fields to pg
-- requires: functions/add_job
-- requires: functions/_trigger_tenant
-- EXECUTE FUNCTION app_jobs.tg_add_job_with_fields('<tenant uuid>', '<task>', 'f1', 'f2', ...):
-- enqueues exactly the named fields of the row. Field names are looked up in the row's
-- JSON, never spliced into SQL, so any name is safe.

BEGIN;

CREATE FUNCTION app_jobs.tg_add_job_with_fields()
RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v_tenant uuid := app_jobs._trigger_tenant(TG_ARGV[0], TG_ARGV[1], TG_LEVEL, TG_NAME,
                                            pg_catalog.format('%I.%I', TG_TABLE_SCHEMA, TG_TABLE_NAME),
                                            'tg_add_job_with_fields');
  v_row jsonb;
  v_payload jsonb := '{}'::jsonb;
  v_field text;
BEGIN
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
  PERFORM app_jobs.add_job(db_id := v_tenant, identifier := TG_ARGV[1], payload := v_payload::json);
  IF TG_OP = 'DELETE' THEN
    RETURN OLD;
  END IF;
  RETURN NEW;
END;
$$;

REVOKE ALL ON FUNCTION app_jobs.tg_add_job_with_fields() FROM PUBLIC;

COMMENT ON FUNCTION app_jobs.tg_add_job_with_fields() IS
  'Trigger function (FOR EACH ROW; INSERT, UPDATE or DELETE). Arguments: tenant uuid, task identifier, then field names. Enqueues a job whose payload holds exactly the named fields of the row (OLD for DELETE).';

COMMIT;
