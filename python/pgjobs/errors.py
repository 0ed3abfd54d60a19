"""Deprecated: ``pgjobs.errors`` moved to :mod:`pgjobs.db.errors` (warns)."""

from __future__ import annotations

from pgjobs._deprecated import moved
from pgjobs.db.errors import *  # noqa: F403
from pgjobs.db.errors import __all__ as __all__

moved(__name__, "pgjobs.db.errors")
