-- Deploy pgjobs:functions/_trigger_tenant to pg
-- requires: schema
-- The enqueue triggers take (tenant uuid, task identifier, ...). Arguments are checked here
-- with a pattern rather than by catching a cast error: an exception block would open a
-- subtransaction for every row a bulk insert fires on.

BEGIN;

CREATE FUNCTION app_jobs._trigger_tenant(p_tenant text, p_identifier text, p_level text,
                                         p_trigger text, p_table text, p_function text)
RETURNS uuid
LANGUAGE plpgsql
STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  IF p_level <> 'ROW' THEN
    RAISE EXCEPTION USING
      ERRCODE = 'PJ202',
      MESSAGE = pg_catalog.format('trigger %s on %s: app_jobs.%s must run FOR EACH ROW', p_trigger, p_table, p_function),
      HINT = 'Recreate the trigger with FOR EACH ROW.';
  END IF;
  IF p_tenant IS NULL OR p_identifier IS NULL OR p_identifier = '' THEN
    RAISE EXCEPTION USING
      ERRCODE = 'PJ202',
      MESSAGE = pg_catalog.format('trigger %s on %s: app_jobs.%s needs a tenant uuid and a task identifier as its first two arguments',
                                  p_trigger, p_table, p_function),
      HINT = pg_catalog.format('EXECUTE FUNCTION app_jobs.%s(''5b720132-17d5-424d-9bcb-ee7b17c13d43'', ''process_record'', ...)', p_function);
  END IF;
  IF p_tenant !~ '^\{?[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}\}?$' THEN
    RAISE EXCEPTION USING
      ERRCODE = 'PJ201',
      MESSAGE = pg_catalog.format('trigger %s on %s: the tenant argument %L of app_jobs.%s is not a uuid',
                                  p_trigger, p_table, p_tenant, p_function),
      DETAIL = 'The first trigger argument is the tenant (database_id) the jobs belong to; the second is the task identifier.',
      HINT = 'Recreate the trigger with a real tenant uuid as its first argument, e.g. ''00000000-0000-0000-0000-000000000000'' for the default tenant.';
  END IF;
  RETURN p_tenant::uuid;
END;
$$;

REVOKE ALL ON FUNCTION app_jobs._trigger_tenant(text, text, text, text, text, text) FROM PUBLIC;

COMMENT ON FUNCTION app_jobs._trigger_tenant(text, text, text, text, text, text) IS
  'Internal: checks the level and the (tenant, task) arguments of an enqueue trigger and returns the tenant uuid; raises PJ201/PJ202 naming the trigger.';

COMMIT;
