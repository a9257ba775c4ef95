"""gunicorn's configuration (Procfile: `gunicorn -c config/gunicorn.py config.wsgi`).

Metrics under several worker processes: every process writes its samples to
PROMETHEUS_MULTIPROC_DIR (set, and emptied, before the processes start: `make run` does both), and
a worker that exits is marked dead so its live gauges stop counting. With METRICS_PORT set, the
master also serves the merged metrics on METRICS_ADDR:METRICS_PORT (default 127.0.0.1), an address
of its own that the public site never exposes; /metrics with METRICS_TOKEN is the other way."""

import os

bind = f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("WEB_WORKERS", "2"))
threads = int(os.environ.get("WEB_THREADS", "4"))
graceful_timeout = 10
accesslog = "-"
# The request id (config/tracing.py) ends every access line, to join it with the application's logs.
access_log_format = '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s %(M)sms "%(a)s" rid=%({x-request-id}o)s'


def when_ready(server):
    port = os.environ.get("METRICS_PORT")
    if port and os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import CollectorRegistry, multiprocess, start_http_server

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        start_http_server(int(port), addr=os.environ.get("METRICS_ADDR", "127.0.0.1"), registry=registry)
        server.log.info("metrics on %s:%s", os.environ.get("METRICS_ADDR", "127.0.0.1"), port)


def child_exit(server, worker):
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
