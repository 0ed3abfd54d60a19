"""Deprecated: ``pgjobs.typed`` moved to :mod:`pgjobs.runtime.typed` (warns)."""

from __future__ import annotations

from pgjobs._deprecated import moved
from pgjobs.runtime.typed import *  # noqa: F403
from pgjobs.runtime.typed import __all__ as __all__

moved(__name__, "pgjobs.runtime.typed")
