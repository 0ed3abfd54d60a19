"""The bench scripts (``bench/``) as the tests that keep them from rotting reach them."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

BENCH = Path(__file__).resolve().parents[2] / "bench"


def load_bench(filename: str) -> ModuleType:
    """A script of bench/ imported as a module of its own (it is no package)."""
    spec = importlib.util.spec_from_file_location(f"pgjobs_bench_{Path(filename).stem}",
                                                  BENCH / filename)  # fmt: skip
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
