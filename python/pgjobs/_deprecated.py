"""The old flat module names, kept one release as thin re-exports that warn on import."""

from __future__ import annotations

import warnings


def moved(old: str, new: str) -> None:
    """Warn that ``old`` is now ``new`` (the caller's import line is the one reported)."""
    warnings.warn(
        f"{old} is deprecated and will be removed in the next release: import from pgjobs "
        f"(the public API) or from {new}",
        DeprecationWarning,
        stacklevel=3,
    )
