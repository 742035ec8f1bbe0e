"""``GET /metrics``: the service's counters in Prometheus's text format, for operators.

What is counted is defined in ``jobs.metrics`` (callback latency by message type, callbacks refused by
reason, deliveries by result, job failures by job, token refreshes, WeChat errcodes); the outbox backlog
(pending rows by kind, and the age of the oldest) is read from the database at each scrape.  Under
gunicorn, ``PROMETHEUS_MULTIPROC_DIR`` (``deploy/gunicorn.conf.py``) makes every process of the host
write its values to one directory, and this page adds them up.

Only for the operator's Prometheus: ``Authorization: Bearer <[metrics] token>``, or a client address in
``[metrics] allow`` (default: this host only).  Anyone else gets a 404, as if there were no such page.
"""

from __future__ import annotations

import hmac
import ipaddress
import os
import time

from flask import Blueprint, Response, abort, g, request
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest, multiprocess
from prometheus_client.core import GaugeMetricFamily

from jobs.metrics import CALLBACK_SECONDS, CALLBACKS_REFUSED
from models import Notification, db

from .. import clock, config

bp = Blueprint("metrics", __name__)

#: The reason of a refused callback when the code that refused it named none, by status.
REFUSAL_BY_STATUS = {400: "malformed", 403: "signature", 404: "unknown_account", 405: "method",
                     413: "too_large", 503: "unavailable"}


def callback_answered(status: int, method: str) -> None:
    """Count a callback's answer: a refusal by its reason, a POST answered by its latency, which runs from the
    request's start as the access log takes it (``logs.start_request``: ``g.started``)."""
    if status >= 400:
        reason = g.get("callback_refusal") or REFUSAL_BY_STATUS.get(status, "other")
        CALLBACKS_REFUSED.labels(reason).inc()
    elif method == "POST" and "started" in g:
        CALLBACK_SECONDS.labels(g.get("message_type", "unknown")).observe(time.perf_counter() - g.started)


def refuse(status: int, reason: str):
    """Abort a callback with ``status``, counted under ``reason``."""
    g.callback_refusal = reason
    abort(status)


def _allowed() -> bool:
    conf = config.settings().metrics
    header = request.headers.get("Authorization", "")
    if conf.token and header.startswith("Bearer "):
        return hmac.compare_digest(header[len("Bearer "):].encode(), conf.token.encode())
    if request.headers.get("X-Forwarded-For") and not config.settings().app.proxy_hops:
        return False  # through a proxy the service does not trust ([app] proxy_hops = 0): the address is the proxy's
    try:
        client = ipaddress.ip_address(request.remote_addr or "")
    except ValueError:
        return False
    return any(client in ipaddress.ip_network(entry, strict=False) for entry in conf.allow)


@bp.get("/metrics")
def metrics():
    if not _allowed():
        abort(404)
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if directory:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry, path=directory)
        counted = generate_latest(registry)
    else:
        counted = generate_latest(REGISTRY)
    backlog = CollectorRegistry(auto_describe=False)
    backlog.register(OutboxBacklog())
    body = counted + generate_latest(backlog)
    return Response(body, mimetype=CONTENT_TYPE_LATEST, headers={"Cache-Control": "no-store"})


class OutboxBacklog:
    """The outbox rows still to deliver: how many by kind, and how long the oldest has waited."""

    def collect(self):
        rows = Notification.backlog_by_kind()
        db.session.rollback()
        now = clock.now()
        pending = GaugeMetricFamily("wx_outbox_pending", "Outbox rows still to deliver, by kind.", labels=["kind"])
        age = GaugeMetricFamily("wx_outbox_oldest_pending_seconds",
                                "Age of the oldest outbox row still to deliver, by kind.", labels=["kind"])
        for kind, count, oldest in rows:
            pending.add_metric([kind], count)
            age.add_metric([kind], max((now - oldest).total_seconds(), 0.0))
        yield pending
        yield age
