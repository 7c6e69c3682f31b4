"""gunicorn settings for a production hub: ``gunicorn -c python:hub.gunicorn_conf 'hub:create_app()'``.

Options on the command line (``-b``, ``-w``) override these. The hub runs behind a buffering
proxy (nginx, ``deploy/nginx/``), which reads slow clients' requests whole before passing them
on; the threads below keep one slow request (a slow database, a large upload being written)
from holding a whole process, and are not a defence against slow clients on their own: a
client that trickles its headers still holds a thread until it finishes (see README, Deploying).

Prometheus metrics are counted per process and added up at scrape time, through files in
``PROMETHEUS_MULTIPROC_DIR`` (a fresh temporary folder unless the environment names one).
"""
from __future__ import annotations

import glob
import os
import shutil
import sys
import tempfile

bind = "127.0.0.1:8000"
workers = 3
worker_class = "gthread"
threads = 4
timeout = 30  # a request still running after this long restarts its process
graceful_timeout = 30
keepalive = 5
control_socket_disable = True  # several gunicorns on one machine would share the control socket's path
accesslog = None  # the hub writes its own access log, without paths' ids, query strings or addresses
# Each process keeps its own metrics in files here; the scrape adds them up (prometheus_client's multiprocess mode).
# Without a folder from the environment (systemd's RuntimeDirectory), a temporary one, removed at exit.
_TEMPORARY = "PROMETHEUS_MULTIPROC_DIR" not in os.environ
if _TEMPORARY:  # only then: a folder made anyway would be left behind in /tmp at every start
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="hub-metrics-")
if os.environ.get("HUB_LOG_FORMAT") == "json":
    logconfig_dict = {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": "hub.logs.JsonFormatter"}},
        "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}},
        "root": {"level": "INFO", "handlers": []},  # the hub adds its own JSON handler in each process
        "loggers": {"gunicorn.error": {"level": "INFO", "handlers": ["console"], "propagate": False}},
    }


def on_starting(_server) -> None:
    """Start the metrics from zero: files left by an earlier run would be added up again."""
    directory = os.environ["PROMETHEUS_MULTIPROC_DIR"]
    os.makedirs(directory, exist_ok=True)
    for path in glob.glob(os.path.join(directory, "*.db")):
        os.remove(path)


def on_exit(_server) -> None:
    """Remove the temporary metrics folder this configuration made."""
    if _TEMPORARY:
        shutil.rmtree(os.environ["PROMETHEUS_MULTIPROC_DIR"], ignore_errors=True)


def child_exit(_server, worker) -> None:
    """Let a finished process's gauges go (its counters and histograms still count)."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def post_worker_init(worker) -> None:
    """Refuse to serve a database whose schema is not this code's (empty, or not migrated after an
    upgrade): the process exits with gunicorn's boot-error code, so gunicorn stops and logs why.
    Then load what the first search needs (search_index.warm), before the process takes requests:
    its first reader would otherwise wait more than a second for it."""
    import search_index
    from hub.schema_check import OutdatedSchema, require_current_schema

    app = worker.wsgi
    if not hasattr(app, "app_context"):  # not the hub's Flask app (a wrapper): nothing to check here
        return
    with app.app_context():
        try:
            require_current_schema()
        except OutdatedSchema as problem:
            worker.log.error("The hub does not start: %s.", problem)
            sys.exit(3)  # gunicorn's WORKER_BOOT_ERROR: the arbiter halts instead of restarting the process
    search_index.warm()
