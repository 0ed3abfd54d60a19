"""Installing the schema: deploy / verify / revert through yoyo, and schema-version checks.

Builds on :mod:`pgjobs.sqltree` (the scripts to run) and :mod:`pgjobs.config` (where to).
"""
