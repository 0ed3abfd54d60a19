"""The public clients (``pgjobs.Client``, ``pgjobs.AsyncClient``): the database clients of
:mod:`pgjobs.db` whose ``connect()`` with no conninfo goes where the command line goes.

``connect()`` without an argument takes the CLI's connect step (:func:`pgjobs.connect.target`):
``PGJOBS_DSN``, ``DATABASE_URL``, the ``PG*`` variables, else the embedded server (started,
and deployed on first use). :mod:`pgjobs.db` cannot do this itself: the layers keep it free of
DSN resolution and servers, so the resolution is added here, one layer up.
"""

from __future__ import annotations

from pgjobs import connect
from pgjobs.db import client as db

__all__ = ["AsyncClient", "Client"]


class AsyncClient(db.AsyncClient):
    __doc__ = db.AsyncClient.__doc__

    @classmethod
    def default_conninfo(cls) -> str:
        """The CLI's target (:func:`pgjobs.connect.conninfo`)."""
        return connect.conninfo()


class Client(db.Client):
    __doc__ = db.Client.__doc__

    @classmethod
    def default_conninfo(cls) -> str:
        """The CLI's target (:func:`pgjobs.connect.conninfo`)."""
        return connect.conninfo()
