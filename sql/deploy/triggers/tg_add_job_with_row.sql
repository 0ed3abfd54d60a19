-- Deploy pgjobs:triggers/tg_add_job_with_row to pg
-- requires: functions/add_job
-- requires: functions/_trigger_tenant
-- EXECUTE FUNCTION app_jobs.tg_add_job_with_row('<tenant uuid>', '<task>'): enqueues the
-- whole inserted, updated (NEW) or deleted (OLD) row as the payload.

BEGIN;

CREATE FUNCTION app_jobs.tg_add_job_with_row()
RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v_tenant uuid := app_jobs._trigger_tenant(TG_ARGV[0], TG_ARGV[1], TG_LEVEL, TG_NAME,
                                            pg_catalog.format('%I.%I', TG_TABLE_SCHEMA, TG_TABLE_NAME),
                                            'tg_add_job_with_row');
  v_row jsonb;
BEGIN
  IF TG_NARGS > 2 THEN
    RAISE EXCEPTION USING
      ERRCODE = 'PJ202',
      MESSAGE = pg_catalog.format('trigger %s on %I.%I: app_jobs.tg_add_job_with_row takes (tenant, task), got %s arguments',
                                  TG_NAME, TG_TABLE_SCHEMA, TG_TABLE_NAME, TG_NARGS),
      HINT = 'Use app_jobs.tg_add_job_with_fields to send only some fields.';
  END IF;
  IF TG_OP = 'DELETE' THEN
    v_row := pg_catalog.to_jsonb(OLD);
  ELSE
    v_row := pg_catalog.to_jsonb(NEW);
  END IF;
  PERFORM app_jobs.add_job(db_id := v_tenant, identifier := TG_ARGV[1], payload := v_row::json);
  IF TG_OP = 'DELETE' THEN
    RETURN OLD;
  END IF;
  RETURN NEW;
END;
$$;

REVOKE ALL ON FUNCTION app_jobs.tg_add_job_with_row() FROM PUBLIC;

COMMENT ON FUNCTION app_jobs.tg_add_job_with_row() IS
  'Trigger function (FOR EACH ROW; INSERT, UPDATE or DELETE). Arguments: tenant uuid, task identifier. Enqueues a job whose payload is the whole row as JSON (OLD for DELETE).';

COMMIT;
