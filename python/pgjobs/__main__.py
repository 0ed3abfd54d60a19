"""`python -m pgjobs`: the same command line as the `pgjobs` console script."""

from pgjobs.cli import main

raise SystemExit(main())
