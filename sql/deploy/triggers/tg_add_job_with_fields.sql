-- Deploy pgjobs:triggers/tg_add_job_with_fields to pg
-- requires: triggers/tg_add_job_with_fields@v0.3.0
-- EXECUTE FUNCTION app_jobs.tg_add_job_with_fields('<tenant uuid>', '<task>', 'f1', 'f2', ...):
-- enqueues exactly the named fields of the row. Field names are looked up in the row's
-- JSON, never spliced into SQL, so any name is safe.
-- It runs with the rights of whoever writes the table (SECURITY INVOKER): turning the row
-- into JSON may call casts the table owner defined, which must never run as the owner of
-- app_jobs. Only app_jobs.add_job, which the writer needs EXECUTE on, runs as the owner.
-- 0.4.0: the row is turned into json, not jsonb, so a value jsonb cannot hold (a \u0000 in a
-- json column) only matters when it is part of the payload. add_job checks the payload
-- (app_jobs._check_payload, as the owner: the writer needs no grant on it); one it cannot
-- store (PJ120) or over the limits (PJ121) makes the row's INSERT, UPDATE or DELETE fail:
-- the job is part of the write, so the write is refused rather than committed without it.

BEGIN;

CREATE OR REPLACE FUNCTION app_jobs.tg_add_job_with_fields()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v_row json;
  v_payload json;
  v_fast boolean;
  v_jsonb jsonb;
  v_value json;
  v_fields text[] := '{}'::text[];
  v_values json[] := '{}'::json[];
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
    v_row := pg_catalog.to_json(OLD);
  ELSE
    v_row := pg_catalog.to_json(NEW);
  END IF;
  v_fast := pg_catalog.strpos(v_row::text, '\u') = 0;
  IF v_fast THEN
    -- No escape anywhere in the row: jsonb reads it (the common case, no catalog look-up).
    v_jsonb := v_row::jsonb;
  END IF;
  FOR i IN 2 .. TG_NARGS - 1 LOOP
    v_field := TG_ARGV[i];
    IF v_fast THEN
      v_value := (v_jsonb -> v_field)::json;  -- NULL only when there is no such column
    ELSIF EXISTS (SELECT 1 FROM pg_catalog.pg_attribute AS a
                   WHERE a.attrelid = TG_RELID AND a.attname = v_field AND a.attnum > 0
                     AND NOT a.attisdropped) THEN
      -- An escape somewhere (a \u0000 in a json column jsonb cannot hold): read only the
      -- fields sent, so the other columns never matter.
      EXECUTE pg_catalog.format('SELECT pg_catalog.to_json(($1).%I)', v_field)
         USING CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END INTO v_value;
      v_value := coalesce(v_value, 'null'::json);
    ELSE
      v_value := NULL;
    END IF;
    IF v_value IS NULL THEN
      RAISE EXCEPTION USING
        ERRCODE = 'PJ203',
        MESSAGE = pg_catalog.format('trigger %s on %I.%I: the table has no column %I', TG_NAME, TG_TABLE_SCHEMA, TG_TABLE_NAME, v_field),
        HINT = 'Pass only names of existing columns after the tenant and task arguments.';
    END IF;
    v_fields := v_fields || v_field;
    v_values := v_values || v_value;
  END LOOP;
  -- A field named twice counts once (the last, as a jsonb key would).
  v_payload := coalesce((SELECT pg_catalog.json_object_agg(u.f, u.v ORDER BY u.n)
                           FROM ROWS FROM (pg_catalog.unnest(v_fields), pg_catalog.unnest(v_values))
                                WITH ORDINALITY AS u(f, v, n)),
                        '{}'::json);
  PERFORM app_jobs.add_job(db_id := TG_ARGV[0]::uuid, identifier := TG_ARGV[1], payload := v_payload);
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
