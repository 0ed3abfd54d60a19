-- Deploy pgjobs:triggers/tg_add_job_with_row to pg
-- requires: triggers/tg_add_job_with_row@v0.3.0
-- EXECUTE FUNCTION app_jobs.tg_add_job_with_row('<tenant uuid>', '<task>'): enqueues the
-- whole inserted, updated (NEW) or deleted (OLD) row as the payload.
-- It runs with the rights of whoever writes the table (SECURITY INVOKER): turning the row
-- into JSON may call casts the table owner defined, which must never run as the owner of
-- app_jobs. Only app_jobs.add_job, which the writer needs EXECUTE on, runs as the owner.
-- 0.4.0: the row is turned into json, not jsonb, so a value jsonb cannot hold (a \u0000 in a
-- json column) only matters when it is part of the payload. add_job checks the payload
-- (app_jobs._check_payload, as the owner: the writer needs no grant on it); one it cannot
-- store (PJ120) or over the limits (PJ121) makes the row's INSERT, UPDATE or DELETE fail:
-- the job is part of the write, so the write is refused rather than committed without it.

BEGIN;

CREATE OR REPLACE FUNCTION app_jobs.tg_add_job_with_row()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v_payload json;
BEGIN
  -- Checked here, not by a cast error: an exception block would open a subtransaction for
  -- every row a bulk statement fires on. The pattern is exactly what uuid_in accepts.
  IF TG_LEVEL <> 'ROW' THEN
    RAISE EXCEPTION USING
      ERRCODE = 'PJ202',
      MESSAGE = pg_catalog.format('trigger %s on %I.%I: app_jobs.tg_add_job_with_row must run FOR EACH ROW', TG_NAME, TG_TABLE_SCHEMA, TG_TABLE_NAME),
      HINT = 'Recreate the trigger with FOR EACH ROW.';
  END IF;
  IF TG_NARGS < 2 OR TG_ARGV[1] = '' OR TG_NARGS > 2 THEN
    RAISE EXCEPTION USING
      ERRCODE = 'PJ202',
      MESSAGE = pg_catalog.format('trigger %s on %I.%I: app_jobs.tg_add_job_with_row takes (tenant, task), got %s arguments',
                                  TG_NAME, TG_TABLE_SCHEMA, TG_TABLE_NAME, TG_NARGS),
      HINT = 'EXECUTE FUNCTION app_jobs.tg_add_job_with_row(''5b720132-17d5-424d-9bcb-ee7b17c13d43'', ''process_record'')';
  END IF;
  IF TG_ARGV[0] !~ '^([0-9a-fA-F]{4}(-?[0-9a-fA-F]{4}){7}|\{[0-9a-fA-F]{4}(-?[0-9a-fA-F]{4}){7}\})$' THEN
    RAISE EXCEPTION USING
      ERRCODE = 'PJ201',
      MESSAGE = pg_catalog.format('trigger %s on %I.%I: the tenant argument %L of app_jobs.tg_add_job_with_row is not a uuid',
                                  TG_NAME, TG_TABLE_SCHEMA, TG_TABLE_NAME, TG_ARGV[0]),
      DETAIL = 'The first trigger argument is the tenant (database_id) the jobs belong to; the second is the task identifier.',
      HINT = 'Recreate the trigger with a real tenant uuid as its first argument, e.g. ''00000000-0000-0000-0000-000000000000'' for the default tenant.';
  END IF;
  IF TG_OP = 'DELETE' THEN
    v_payload := pg_catalog.to_json(OLD);
  ELSE
    v_payload := pg_catalog.to_json(NEW);
  END IF;
  PERFORM app_jobs.add_job(db_id := TG_ARGV[0]::uuid, identifier := TG_ARGV[1], payload := v_payload);
  IF TG_OP = 'DELETE' THEN
    RETURN OLD;
  END IF;
  RETURN NEW;
END;
$$;

REVOKE ALL ON FUNCTION app_jobs.tg_add_job_with_row() FROM PUBLIC;

COMMENT ON FUNCTION app_jobs.tg_add_job_with_row() IS
  'Trigger function (FOR EACH ROW; INSERT, UPDATE or DELETE). Arguments: tenant uuid, task identifier. Enqueues a job whose payload is the whole row as JSON (OLD for DELETE). Runs with the rights of the writer of the table, who needs EXECUTE on app_jobs.add_job.';

COMMIT;
