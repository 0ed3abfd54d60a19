-- Deploy pgjobs:tables/tenant_roles to pg
-- requires: schema
-- Tenant isolation, roles mode: a login role bound to one tenant. Read by app_jobs._tenant,
-- the one guard every public function that takes or reads a db_id calls.

BEGIN;

CREATE TABLE app_jobs.tenant_roles (
  role_name text NOT NULL,
  db_id uuid NOT NULL,
  created_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
  CONSTRAINT tenant_roles_pkey PRIMARY KEY (role_name)
);

REVOKE ALL ON TABLE app_jobs.tenant_roles FROM PUBLIC;

COMMENT ON TABLE app_jobs.tenant_roles IS
  'Tenant isolation, roles mode: a session whose login role (session_user) is listed here acts for that tenant only, whatever it passes as db_id or sets as app_jobs.tenant. Written by the schema owner (INSERT/DELETE).';
COMMENT ON COLUMN app_jobs.tenant_roles.role_name IS 'A login role (session_user), as pg_roles.rolname spells it.';
COMMENT ON COLUMN app_jobs.tenant_roles.db_id IS 'The tenant (the db_id of its jobs) that role is bound to.';

-- Inside CREATE EXTENSION pgjobs, mark the table as user data, so pg_dump keeps its rows.
DO $$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_catalog.pg_extension WHERE extname = 'pgjobs') THEN
    PERFORM pg_catalog.pg_extension_config_dump('app_jobs.tenant_roles', '');
  END IF;
END;
$$;

COMMIT;
