"""The counters an operator reads on ``/metrics`` (Prometheus), defined once.

They live here, below ``wx_service``, because the jobs count deliveries and failures too and may not
import the app.  Under gunicorn (and in the rq workers and the scheduler of the same host) set
``PROMETHEUS_MULTIPROC_DIR`` to one directory: each process then writes its values there and
``/metrics`` on that host adds them up (prometheus_client's multiprocess mode, see
``deploy/gunicorn.conf.py``).  The outbox backlog is no counter: ``/metrics`` reads it from the
database when it is scraped (``wx_service.ops.metrics``).
"""

from __future__ import annotations

from prometheus_client import Counter, Histogram

CALLBACK_SECONDS = Histogram(
    "wx_callback_seconds", "Time to answer a WeChat callback (POST), by message type (event: the event).",
    ["message_type"], buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 5.0, 10.0))
CALLBACKS_REFUSED = Counter(
    "wx_callbacks_refused", "WeChat callbacks answered with a 4xx/5xx, by reason.", ["reason"])
DELIVERIES = Counter(
    "wx_deliveries", "Outbox rows settled by a delivery job, by result (sent, inbox_only, deferred, failed …).",
    ["result"])
JOB_FAILURES = Counter(
    "wx_job_failures", "Jobs that raised (each attempt) or were abandoned by a dead worker, by job.", ["job"])
TOKEN_REFRESHES = Counter(
    "wx_token_refreshes", "Access tokens fetched from WeChat, by account.", ["account"])
WECHAT_ERRORS = Counter(
    "wx_wechat_api_errors", "WeChat API calls answered with an errcode, by account and errcode (45009: quota).",
    ["account", "errcode"])
