-- Deploy pgjobs:functions/_police_table to pg
-- requires: functions/_row_tenant
-- requires: functions/_own_job
-- Row level security on one table of app_jobs (policies/tenant_rows calls it for each table
-- holding tenant data; create_history_partitions for each new day partition of job_history,
-- which a direct read can name as well as the parent):
--   ENABLE and FORCE ROW LEVEL SECURITY (FORCE: the owner too is subject to the policies);
--   pgjobs_owner: the table's owner sees and writes every row. The public functions are
--     SECURITY DEFINER and run as the owner: they pass here, and do their own tenant check
--     (app_jobs._tenant). A policy TO the owner costs the owner nothing: its expression is the
--     constant true, which the planner folds the OR of the policies into.
--   pgjobs_tenant: every other role sees and writes the rows of its login's tenant only
--     (app_jobs._row_tenant(), keyed on session_user), or every row when its login is bound
--     to no tenant (what a role granted a table saw before). Rows with a NULL tenant (task
--     settings for every tenant) are visible to all, writable by unbound logins only.
--     job_attempts names no tenant: a row is the tenant's when its job is (_own_job).
-- Run again, it drops and recreates the two policies (a new owner gets its policy).

BEGIN;

CREATE FUNCTION app_jobs._police_table(p_table regclass)
RETURNS void
LANGUAGE plpgsql
VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v_owner name;
  v_nullable boolean;
  v_using text;
  v_check text;
  v_policy name;
BEGIN
  SELECT pg_catalog.pg_get_userbyid(c.relowner) INTO v_owner
    FROM pg_catalog.pg_class AS c
   WHERE c.oid = p_table AND c.relnamespace = 'app_jobs'::pg_catalog.regnamespace
     AND c.relkind IN ('r', 'p');
  IF v_owner IS NULL THEN
    RAISE EXCEPTION USING
      ERRCODE = 'PJ169',
      MESSAGE = pg_catalog.format('_police_table: %s is not a table of schema app_jobs', p_table),
      HINT = 'Pass a table of app_jobs that holds tenant data.';
  END IF;
  SELECT NOT a.attnotnull INTO v_nullable
    FROM pg_catalog.pg_attribute AS a
   WHERE a.attrelid = p_table AND a.attname = 'database_id' AND NOT a.attisdropped;
  IF v_nullable IS NULL THEN
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_attribute AS a
                    WHERE a.attrelid = p_table AND a.attname = 'job_id' AND NOT a.attisdropped) THEN
      RAISE EXCEPTION USING
        ERRCODE = 'PJ169',
        MESSAGE = pg_catalog.format('_police_table: %s has neither a database_id nor a job_id column', p_table),
        HINT = 'Only tables keyed by tenant (database_id) or by job (job_id) get tenant policies.';
    END IF;
    v_using := '(SELECT app_jobs._row_tenant()) IS NULL OR app_jobs._own_job(job_id)';
    v_check := v_using;
  ELSE
    v_check := '(SELECT app_jobs._row_tenant()) IS NULL OR database_id = (SELECT app_jobs._row_tenant())';
    v_using := v_check || CASE WHEN v_nullable THEN ' OR database_id IS NULL' ELSE '' END;
  END IF;

  EXECUTE pg_catalog.format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', p_table);
  EXECUTE pg_catalog.format('ALTER TABLE %s FORCE ROW LEVEL SECURITY', p_table);
  FOR v_policy IN
    SELECT p.polname FROM pg_catalog.pg_policy AS p
     WHERE p.polrelid = p_table AND p.polname IN ('pgjobs_owner', 'pgjobs_tenant')
  LOOP
    EXECUTE pg_catalog.format('DROP POLICY %I ON %s', v_policy, p_table);
  END LOOP;
  EXECUTE pg_catalog.format(
    'CREATE POLICY pgjobs_owner ON %s AS PERMISSIVE FOR ALL TO %I USING (true) WITH CHECK (true)',
    p_table, v_owner);
  EXECUTE pg_catalog.format(
    'CREATE POLICY pgjobs_tenant ON %s AS PERMISSIVE FOR ALL TO PUBLIC USING (%s) WITH CHECK (%s)',
    p_table, v_using, v_check);
  EXECUTE pg_catalog.format('COMMENT ON POLICY pgjobs_owner ON %s IS %L', p_table,
    'The owner (the role the SECURITY DEFINER functions run as) reads and writes every row; the functions check the tenant themselves (app_jobs._tenant).');
  EXECUTE pg_catalog.format('COMMENT ON POLICY pgjobs_tenant ON %s IS %L', p_table,
    'Any other role: the rows of its login''s tenant (app_jobs.tenant_roles, session_user) only; every row when its login is bound to no tenant.');
END;
$$;

REVOKE ALL ON FUNCTION app_jobs._police_table(regclass) FROM PUBLIC;

COMMENT ON FUNCTION app_jobs._police_table(regclass) IS
  'Internal: enables and forces row level security on one table of app_jobs holding tenant data, with two policies: pgjobs_owner (the owner, as which the SECURITY DEFINER functions run: every row) and pgjobs_tenant (any other role: its login''s tenant''s rows, every row for a login bound to no tenant). PJ169 for a table that is not app_jobs''s or has no database_id or job_id.';

COMMIT;
