-- Deploy pgjobs:triggers/tg_add_job_with_row_id to pg
-- requires: functions/add_job
-- requires: functions/_trigger_tenant
-- EXECUTE FUNCTION app_jobs.tg_add_job_with_row_id('<tenant uuid>', '<task>', '<field>'):
-- enqueues {"<field>": value} of the inserted, updated (NEW) or deleted (OLD) row. The
-- field defaults to id. No SQL is built from the arguments: the row is read as JSON.

BEGIN;

CREATE FUNCTION app_jobs.tg_add_job_with_row_id()
RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v_tenant uuid := app_jobs._trigger_tenant(TG_ARGV[0], TG_ARGV[1], TG_LEVEL, TG_NAME,
                                            pg_catalog.format('%I.%I', TG_TABLE_SCHEMA, TG_TABLE_NAME),
                                            'tg_add_job_with_row_id');
  v_field text := coalesce(TG_ARGV[2], 'id');
  v_row jsonb;
BEGIN
  IF TG_NARGS > 3 THEN
    RAISE EXCEPTION USING
      ERRCODE = 'PJ202',
      MESSAGE = pg_catalog.format('trigger %s on %I.%I: app_jobs.tg_add_job_with_row_id takes (tenant, task[, field]), got %s arguments',
                                  TG_NAME, TG_TABLE_SCHEMA, TG_TABLE_NAME, TG_NARGS),
      HINT = 'Use app_jobs.tg_add_job_with_fields to send several fields.';
  END IF;
  IF TG_OP = 'DELETE' THEN
    v_row := pg_catalog.to_jsonb(OLD);
  ELSE
    v_row := pg_catalog.to_jsonb(NEW);
  END IF;
  IF NOT v_row ? v_field THEN
    RAISE EXCEPTION USING
      ERRCODE = 'PJ203',
      MESSAGE = pg_catalog.format('trigger %s on %I.%I: the table has no column %I', TG_NAME, TG_TABLE_SCHEMA, TG_TABLE_NAME, v_field),
      HINT = 'Pass the name of an existing column as the third trigger argument.';
  END IF;
  PERFORM app_jobs.add_job(db_id := v_tenant, identifier := TG_ARGV[1],
                           payload := pg_catalog.jsonb_build_object(v_field, v_row -> v_field)::json);
  IF TG_OP = 'DELETE' THEN
    RETURN OLD;
  END IF;
  RETURN NEW;
END;
$$;

REVOKE ALL ON FUNCTION app_jobs.tg_add_job_with_row_id() FROM PUBLIC;

COMMENT ON FUNCTION app_jobs.tg_add_job_with_row_id() IS
  'Trigger function (FOR EACH ROW; INSERT, UPDATE or DELETE). Arguments: tenant uuid, task identifier, field name (default id). Enqueues a job whose payload is {"<field>": value} of the row (OLD for DELETE).';

COMMIT;
