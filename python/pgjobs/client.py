"""Deprecated: ``pgjobs.client`` moved to :mod:`pgjobs.db.client` (warns)."""

from __future__ import annotations

from pgjobs._deprecated import moved
from pgjobs.db.client import *  # noqa: F403
from pgjobs.db.client import __all__ as __all__

moved(__name__, "pgjobs.db.client")
