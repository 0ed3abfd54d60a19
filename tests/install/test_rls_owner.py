"""Row level security with a schema owner that is not a superuser (superusers bypass it, so
the rest of the suite, which deploys as ``postgres``, never meets the forced policies on the
functions' own statements).

Deployed by a plain LOGIN role: the SECURITY DEFINER functions (enqueue, claim, finish, fail,
maintenance) work under FORCE ROW LEVEL SECURITY; the owner's reads carry no policy filter
(the planner folded ``pgjobs_owner``'s ``true``); and a tenant's login granted the tables reads
its own rows only.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import psycopg
import pytest
from install_support import TestDatabase
from psycopg import sql
from psycopg.conninfo import make_conninfo

from pgjobs.install.deploy import deploy

A = "5b720132-17d5-424d-9bcb-ee7b17c13d43"
B = "9d4b0e6a-3f1c-4c4e-8a57-2f6d1c0b7e21"


@pytest.fixture
def owned(database: TestDatabase) -> Iterator[tuple[str, str, str]]:
    """(owner's dsn, tenant login's dsn, superuser dsn) of a database deployed by the owner."""
    owner, tenant = (f"pj_{kind}_{uuid.uuid4().hex[:10]}" for kind in ("owner", "tenant"))
    with database.connect() as conn:
        for role in (owner, tenant):
            conn.execute(
                sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(
                    sql.Identifier(role), sql.Literal(role)
                )
            )
        conn.execute(
            sql.SQL("ALTER DATABASE {} OWNER TO {}").format(
                sql.Identifier(database.name), sql.Identifier(owner)
            )
        )
        conn.execute(sql.SQL("ALTER SCHEMA public OWNER TO {}").format(sql.Identifier(owner)))
    try:
        yield (
            make_conninfo(database.dsn, user=owner, password=owner),
            make_conninfo(database.dsn, user=tenant, password=tenant),
            database.dsn,
        )
    finally:
        with database.connect() as conn:
            conn.execute(
                sql.SQL("ALTER DATABASE {} OWNER TO CURRENT_USER").format(
                    sql.Identifier(database.name)
                )
            )
            for role in (tenant, owner):
                conn.execute(sql.SQL("DROP OWNED BY {} CASCADE").format(sql.Identifier(role)))
                conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))


def test_forced_policies_with_a_non_superuser_owner(owned: tuple[str, str, str]) -> None:
    owner_dsn, tenant_dsn, _ = owned
    deploy(owner_dsn)
    with psycopg.connect(owner_dsn, autocommit=True) as owner:
        assert owner.execute(
            "SELECT rolsuper FROM pg_roles WHERE rolname = current_user"
        ).fetchone() == (False,)
        # The functions' own work, under forced row level security.
        for db_id in (A, B, B):
            owner.execute("SELECT app_jobs.add_job(%s, 'send')", [db_id])
        owner.execute("SELECT app_jobs.add_job(%s, 'flaky', max_attempts := 1)", [B])
        done = owner.execute("SELECT id FROM app_jobs.get_job('w', ARRAY['send'])").fetchone()
        assert done is not None
        assert owner.execute("SELECT app_jobs.complete_job('w', %s)", [done[0]]).fetchone()
        flaky = owner.execute("SELECT id FROM app_jobs.get_job('w', ARRAY['flaky'])").fetchone()
        assert flaky is not None
        owner.execute("SELECT app_jobs.fail_job('w', %s, 'boom')", [flaky[0]])
        assert owner.execute("SELECT app_jobs.create_history_partitions(1)").fetchone() != (0,)
        counts = owner.execute(
            "SELECT (SELECT count(*) FROM app_jobs.jobs),"
            " (SELECT count(*) FROM app_jobs.job_history),"
            " (SELECT count(*) FROM app_jobs.job_attempts)"
        ).fetchone()
        assert counts == (2, 2, 1)
        # The owner's policy folds away: no filter in its plans.
        plan = "\n".join(r[0] for r in owner.execute("EXPLAIN SELECT * FROM app_jobs.jobs"))
        assert "Filter" not in plan and "_row_tenant" not in plan, plan
        tenant_role = str(psycopg.conninfo.conninfo_to_dict(tenant_dsn)["user"])
        owner.execute(
            "INSERT INTO app_jobs.tenant_roles (role_name, db_id) VALUES (%s, %s)", [tenant_role, A]
        )
        owner.execute(
            sql.SQL("GRANT USAGE ON SCHEMA app_jobs TO {}").format(sql.Identifier(tenant_role))
        )
        owner.execute(
            sql.SQL("GRANT SELECT ON ALL TABLES IN SCHEMA app_jobs TO {}").format(
                sql.Identifier(tenant_role)
            )
        )
    with psycopg.connect(tenant_dsn, autocommit=True) as tenant:
        tenant.execute("SELECT set_config('app_jobs.tenant', %s, false)", [B])
        tenants = {
            table: {str(r[0]) for r in tenant.execute(f"SELECT database_id FROM app_jobs.{table}")}
            for table in ("jobs", "job_history", "job_queues")
        }
        # A's one job (waiting or finished) and none of B's three.
        assert tenants["jobs"] | tenants["job_history"] == {A}
        assert tenants["job_queues"] == set()
        assert tenant.execute("SELECT count(*) FROM app_jobs.job_attempts").fetchone() == (0,)
