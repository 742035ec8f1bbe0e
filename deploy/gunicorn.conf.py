"""gunicorn settings for wx_service behind the buffering nginx of ``deploy/nginx.conf.example``.

    gunicorn -c deploy/gunicorn.conf.py "wx_service:create_app()"

Sync workers hold one request each, start to finish.  That is only safe because nginx reads the whole
request (headers and body) from the client before it opens a connection here, and reads the whole answer
before passing it on slowly: without it, three clients sending a form one byte a second hold two workers
until ``timeout`` and ``/healthz`` stops answering.  Every value can be overridden on the command line or
with ``GUNICORN_CMD_ARGS``.
"""

import multiprocessing
import os
import tempfile

bind = os.environ.get("WX_SERVICE_BIND", "127.0.0.1:8000")
# The pages wait on PostgreSQL and on WeChat's API; two workers per core, at least two.
workers = int(os.environ.get("WEB_CONCURRENCY", max(2, 2 * multiprocessing.cpu_count())))
worker_class = "sync"
# A worker silent for this long is killed and replaced.  The slowest request the service makes is a
# WeChat API call (5 s timeout, retried once); nginx's proxy_read_timeout (60 s) is longer, so nginx
# reports the worker's death as a 502 instead of cutting a request gunicorn would still finish.
timeout = 30
# On a restart (HUP, deploy) a worker finishes the request it holds for up to this long.
graceful_timeout = 30
# nginx speaks HTTP/1.1 with keep-alive to this upstream (``keepalive`` in the upstream block); sync workers
# close after each answer anyway, so the value only matters with a threaded worker class.
keepalive = 5
# Recycle workers now and then: a slow leak in a dependency never grows for weeks.
max_requests = 2000
max_requests_jitter = 200
# nginx is the only client, on the same host: trust its X-Forwarded-* (ProxyFix reads them, [app] proxy_hops).
forwarded_allow_ips = "127.0.0.1"
# Same limits as nginx's large_client_header_buffers, so a request nginx passes is never refused here.
limit_request_line = 8190
limit_request_field_size = 8190
accesslog = "-"
errorlog = "-"

# /metrics: each worker counts in its own process; prometheus_client's multiprocess mode has every process
# write its values under one directory, and /metrics (any worker) adds them up.  Give the rq workers and the
# scheduler of this host the same PROMETHEUS_MULTIPROC_DIR, so their counters show too; empty the directory
# when the host's services all start afresh (a tmpfs such as /run is emptied at boot).
metrics_dir = os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR",
                                    os.path.join(tempfile.gettempdir(), "wx_service-metrics"))


def on_starting(server):
    os.makedirs(metrics_dir, exist_ok=True)


def child_exit(server, worker):
    """A dead worker's gauges go with it; its counters stay in the sum (a counter never goes down)."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
