"""The connect step: where pgjobs will talk to PostgreSQL, with the embedded server started.

:func:`pgjobs.config.resolve` only names the target (pure). When it names the embedded server
(nothing configured), :func:`target` starts it and deploys the schema on first use. The command
line, ``App`` and the pytest plugin call this right before they connect, and nothing else starts
a server.
"""

from __future__ import annotations

from collections.abc import Mapping

from pgjobs import config, embedded
from pgjobs.config import ResolvedDsn

__all__ = ["conninfo", "target"]


def _deploy(conninfo: str) -> object:
    from pgjobs.install.deploy import deploy  # yoyo is imported only when it is needed

    return deploy(conninfo)


def target(dsn: str | None = None, environ: Mapping[str, str] | None = None) -> ResolvedDsn:
    """Resolve ``dsn`` (:func:`pgjobs.config.resolve`) and start the embedded server if named."""
    return embedded.started(config.resolve(dsn, environ), deploy=_deploy)


def conninfo(dsn: str | None = None) -> str:
    """The conninfo of :func:`target`."""
    return target(dsn).conninfo
