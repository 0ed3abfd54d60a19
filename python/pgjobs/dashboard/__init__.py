"""The pgjobs dashboard: web pages, an HTTP API for serverless platforms and Prometheus
metrics, all reading and acting through ``app_jobs`` functions (:mod:`.queries`).

Needs the ``dashboard`` extra (``pip install -e '.[dashboard]'``); ``pgjobs dashboard``
serves it. :mod:`.metrics` is the worker's metrics registry and its hook interface.
"""
