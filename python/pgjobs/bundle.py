"""``python3 -m pgjobs.bundle``: the extension build, kept under its documented name.

The code is :mod:`pgjobs.sqltree.bundle` (standard library only); ``make`` runs that module. This
entry stays so that ``python3 -m pgjobs.bundle`` keeps working on a bare Python.
"""

from __future__ import annotations

import sys

from pgjobs.sqltree.bundle import *  # noqa: F403
from pgjobs.sqltree.bundle import __all__ as __all__
from pgjobs.sqltree.bundle import main

if __name__ == "__main__":
    sys.exit(main())
