"""Connecting through a transaction pooler (PgBouncer ``pool_mode = transaction``).

Through such a pooler each transaction may run on another server session, so a client must
keep no session state between transactions. pgjobs keeps none (every call is one autocommit
statement, see docs/operations.md "PgBouncer"), except in two places this module switches:

* **server-side prepared statements**: psycopg prepares a statement it runs often on a
  connection; the next transaction may run on a server session that never saw it.
  :func:`connect_kwargs` turns that off (``prepare_threshold=None``) in pooler mode.
* **LISTEN**: a subscription belongs to one server session. In pooler mode the worker listens
  on the direct connection of ``PGJOBS_LISTEN_DSN`` when one is set (:func:`listen_conninfo`),
  else it does not listen and polls (``poll_interval``; cancellations reach it through the
  heartbeat), and ``wait_for`` polls too.

Pooler mode is on when ``PGJOBS_POOLER=transaction`` (``pgjobs worker --pooler`` sets it).
"""

from __future__ import annotations

import os
from typing import Any, Final

__all__ = ["LISTEN_ENV", "MODE_ENV", "connect_kwargs", "listen_conninfo", "transaction_pooler"]

#: ``transaction``: the connections go through a transaction pooler.
MODE_ENV: Final = "PGJOBS_POOLER"
#: A direct connection (not through the pooler) for LISTEN, in pooler mode.
LISTEN_ENV: Final = "PGJOBS_LISTEN_DSN"


def transaction_pooler() -> bool:
    """Whether pgjobs' connections go through a transaction pooler (``PGJOBS_POOLER``)."""
    return os.environ.get(MODE_ENV, "").strip().lower() == "transaction"


def connect_kwargs() -> dict[str, Any]:
    """Extra ``psycopg.connect`` arguments: no server-side prepared statements in pooler mode."""
    return {"prepare_threshold": None} if transaction_pooler() else {}


def listen_conninfo(conninfo: str) -> str | None:
    """Where to LISTEN: ``conninfo`` itself unless in pooler mode; there the direct
    ``PGJOBS_LISTEN_DSN`` when set, else None (do not listen: poll)."""
    if not transaction_pooler():
        return conninfo
    return os.environ.get(LISTEN_ENV) or None
