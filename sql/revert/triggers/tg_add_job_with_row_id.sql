-- Revert pgjobs:triggers/tg_add_job_with_row_id from pg
-- Back to the 0.3.0 definition (deploy/triggers/tg_add_job_with_row_id@v0.3.0.sql).
-- EXECUTE FUNCTION app_jobs.tg_add_job_with_row_id('<tenant uuid>', '<task>', '<field>'):
-- enqueues {"<field>": value} of the inserted, updated (NEW) or deleted (OLD) row. The
-- field defaults to id. No SQL is built from the arguments: the row is read as JSON.
-- It runs with the rights of whoever writes the table (SECURITY INVOKER): turning the row
-- into JSON may call casts the table owner defined, which must never run as the owner of
-- app_jobs. Only app_jobs.add_job, which the writer needs EXECUTE on, runs as the owner.

BEGIN;

CREATE OR REPLACE FUNCTION app_jobs.tg_add_job_with_row_id()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v_field text := coalesce(TG_ARGV[2], 'id');
  v_row jsonb;
BEGIN
  -- Checked here, not by a cast error: an exception block would open a subtransaction for
  -- every row a bulk statement fires on. The pattern is exactly what uuid_in accepts.
  IF TG_LEVEL <> 'ROW' THEN
    RAISE EXCEPTION USING
      ERRCODE = 'PJ202',
      MESSAGE = pg_catalog.format('trigger %s on %I.%I: app_jobs.tg_add_job_with_row_id must run FOR EACH ROW', TG_NAME, TG_TABLE_SCHEMA, TG_TABLE_NAME),
      HINT = 'Recreate the trigger with FOR EACH ROW.';
  END IF;
  IF TG_NARGS < 2 OR TG_ARGV[1] = '' OR TG_NARGS > 3 THEN
    RAISE EXCEPTION USING
      ERRCODE = 'PJ202',
      MESSAGE = pg_catalog.format('trigger %s on %I.%I: app_jobs.tg_add_job_with_row_id takes (tenant, task[, field]), got %s arguments',
                                  TG_NAME, TG_TABLE_SCHEMA, TG_TABLE_NAME, TG_NARGS),
      HINT = 'EXECUTE FUNCTION app_jobs.tg_add_job_with_row_id(''5b720132-17d5-424d-9bcb-ee7b17c13d43'', ''process_record'', ''id'')';
  END IF;
  IF TG_ARGV[0] !~ '^([0-9a-fA-F]{4}(-?[0-9a-fA-F]{4}){7}|\{[0-9a-fA-F]{4}(-?[0-9a-fA-F]{4}){7}\})$' THEN
    RAISE EXCEPTION USING
      ERRCODE = 'PJ201',
      MESSAGE = pg_catalog.format('trigger %s on %I.%I: the tenant argument %L of app_jobs.tg_add_job_with_row_id is not a uuid',
                                  TG_NAME, TG_TABLE_SCHEMA, TG_TABLE_NAME, TG_ARGV[0]),
      DETAIL = 'The first trigger argument is the tenant (database_id) the jobs belong to; the second is the task identifier.',
      HINT = 'Recreate the trigger with a real tenant uuid as its first argument, e.g. ''00000000-0000-0000-0000-000000000000'' for the default tenant.';
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
  PERFORM app_jobs.add_job(db_id := TG_ARGV[0]::uuid, identifier := TG_ARGV[1],
                           payload := pg_catalog.jsonb_build_object(v_field, v_row -> v_field)::json);
  IF TG_OP = 'DELETE' THEN
    RETURN OLD;
  END IF;
  RETURN NEW;
END;
$$;

REVOKE ALL ON FUNCTION app_jobs.tg_add_job_with_row_id() FROM PUBLIC;

COMMENT ON FUNCTION app_jobs.tg_add_job_with_row_id() IS
  'Trigger function (FOR EACH ROW; INSERT, UPDATE or DELETE). Arguments: tenant uuid, task identifier, field name (default id). Enqueues a job whose payload is {"<field>": value} of the row (OLD for DELETE). Runs with the rights of the writer of the table, who needs EXECUTE on app_jobs.add_job.';

COMMIT;
