"""A generated file in the checkout: write it, or (``--check``) say whether it is current.

Shared by the generators that ``make lint`` checks for staleness (``sql/README.md`` from
:mod:`pgjobs.sqltree.index`, the sync client from ``tools/async_to_sync.py``). Standard
library only, like the rest of :mod:`pgjobs.sqltree`.
"""

from __future__ import annotations

import sys
from pathlib import Path

__all__ = ["write_or_check"]


def write_or_check(target: Path, text: str, *, check: bool, regenerate: str) -> int:
    """Write ``text`` to ``target`` if it differs (printing so), or with ``check`` only compare:
    1 and a line naming ``regenerate`` (the command that rewrites it) when stale, else 0."""
    current = target.read_text(encoding="utf-8") if target.exists() else ""
    if check:
        if text != current:
            print(f"{target} is stale: run `{regenerate}`", file=sys.stderr)
            return 1
        return 0
    if text != current:
        target.write_text(text, encoding="utf-8")
        print(f"wrote {target}")
    return 0
