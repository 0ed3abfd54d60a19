"""Running jobs: the task registry, typed payloads, the worker, the scheduler loop and App.

Built on :mod:`pgjobs.db`; never imports the command line.
"""
