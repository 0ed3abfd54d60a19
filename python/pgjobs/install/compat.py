"""Which ``app_jobs`` schema versions this pgjobs package can work with.

A worker asks the database ``app_jobs.schema_version()`` at start (0.1.0 had no such function:
a schema without it is at 0.1.0) and goes on only when the answer is between
:data:`OLDEST_SCHEMA` and :func:`newest_schema`:

* a **newer** schema may have changed what the worker's calls mean, so the worker refuses to
  start (upgrade the package first, or deploy the schema only after every worker runs the new
  package);
* an **older** one down to :data:`OLDEST_SCHEMA` is fine: every call the client makes exists
  there with the same arguments, so during a rolling upgrade new workers run against the old
  schema until ``pgjobs deploy`` (or ``ALTER EXTENSION pgjobs UPDATE``) catches it up.
"""

from __future__ import annotations

from typing import Final

from pgjobs import __version__
from pgjobs.db.queries import SCHEMA_WITHOUT_VERSION
from pgjobs.sqltree.plan import PlanError, load_plan, version_key
from pgjobs.sqltree.sqlfiles import SqlFileError

__all__ = [
    "OLDEST_SCHEMA",
    "SCHEMA_WITHOUT_VERSION",
    "SchemaVersionError",
    "check_schema",
    "newest_schema",
]

#: The oldest schema every query of :mod:`pgjobs.queries` works with.
OLDEST_SCHEMA: Final = "0.1.0"


class SchemaVersionError(RuntimeError):
    """The database's app_jobs schema is a version this package cannot work with."""


def newest_schema() -> str:
    """The newest schema this package knows: the newest release tag of its own plan, or the
    release in preparation that ``control`` names when changes follow that tag (a schema
    deployed from such a checkout already answers that version)."""
    try:
        tags = load_plan().tags
    except (PlanError, SqlFileError):
        tags = ()
    if not tags:
        return __version__
    newest = tags[-1].version
    return __version__ if version_key(__version__) > version_key(newest) else newest


def check_schema(version: str) -> None:
    """Raise :class:`SchemaVersionError` unless this package can work with ``version``."""
    newest = newest_schema()
    try:
        key = version_key(version)
    except PlanError:
        key = None
    if key is not None and version_key(OLDEST_SCHEMA) <= key <= version_key(newest):
        return
    if key is not None and key < version_key(OLDEST_SCHEMA):
        raise SchemaVersionError(
            f"the app_jobs schema of this database is pgjobs {version}, older than this pgjobs "
            f"package ({__version__}) supports ({OLDEST_SCHEMA} or later): upgrade the schema "
            "with `pgjobs deploy` (or ALTER EXTENSION pgjobs UPDATE)"
        )
    raise SchemaVersionError(
        f"the app_jobs schema of this database is pgjobs {version}, newer than this pgjobs "
        f"package ({__version__}) understands (schemas {OLDEST_SCHEMA} to {newest}): upgrade "
        "the pgjobs package on this machine (a newer pgjobs-queue wheel or source tree) "
        "before starting workers. "
        "In a rolling upgrade, upgrade every worker first and the schema last."
    )
