"""Deprecated: ``pgjobs.app`` moved to :mod:`pgjobs.runtime.app` (warns)."""

from __future__ import annotations

from pgjobs._deprecated import moved
from pgjobs.runtime.app import *  # noqa: F403
from pgjobs.runtime.app import __all__ as __all__

moved(__name__, "pgjobs.runtime.app")
