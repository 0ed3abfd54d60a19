"""Deprecated: ``pgjobs.testing`` moved to :mod:`pgjobs.pytest_plugin` (warns)."""

from __future__ import annotations

from pgjobs._deprecated import moved
from pgjobs.pytest_plugin import *  # noqa: F403
from pgjobs.pytest_plugin import __all__ as __all__

moved(__name__, "pgjobs.pytest_plugin")
