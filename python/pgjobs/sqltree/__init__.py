"""The SQL tree: read ``sql/sqitch.plan`` and its scripts, build the extension, export.

Standard library only, and nothing above it in pgjobs: ``make`` runs
``python3 -m pgjobs.sqltree.bundle`` on a bare Python to build the extension.
"""
