"""What operators see of each request: its id, one access-log line, its latency in the metrics.

Every request gets an id (the proxy's ``X-Request-Id`` when it sent a sane one, else a new one),
sent back as ``X-Request-Id`` and added to every log record written while it is handled. The
access log line and the latency histogram name the endpoint (``notes.detail``), never the path:
paths hold ids and slugs, query strings hold search words, and neither may reach a log or a
metric's label. The client's address is logged only with ``HUB_LOG_CLIENT_IP``.
"""
from __future__ import annotations

import logging
import re
import time
import uuid
from typing import Any

from flask import Flask, current_app, g, has_request_context, request
from prometheus_client import Histogram

from hub import logs

access_log = logging.getLogger("hub.access")
REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{8,128}")
REQUEST_SECONDS = Histogram("hub_http_request_duration_seconds", "Time to answer a request, by endpoint.",
                            ["endpoint", "method", "status"])


def start_request() -> None:
    """Note when the request began and give it an id."""
    g.request_started = time.perf_counter()
    incoming = request.headers.get("X-Request-Id", "")
    g.request_id = incoming if REQUEST_ID.fullmatch(incoming) else uuid.uuid4().hex


def finish_request(response):
    """Send the request id back, count the latency and write the access log line."""
    request_id = g.get("request_id") or uuid.uuid4().hex
    response.headers["X-Request-Id"] = request_id
    seconds = time.perf_counter() - g.get("request_started", time.perf_counter())
    endpoint = request.endpoint or "unmatched"  # a 404 that matched no rule has no endpoint
    REQUEST_SECONDS.labels(endpoint=endpoint, method=request.method, status=str(response.status_code)).observe(seconds)
    fields: dict[str, Any] = {"request_id": request_id, "method": request.method, "endpoint": endpoint,
                              "status": response.status_code, "duration_ms": round(seconds * 1000, 1)}
    if current_app.config["LOG_CLIENT_IP"]:
        fields["client_ip"] = request.remote_addr
    access_log.info("%s %s %s %.1f ms %s", request.method, endpoint, response.status_code, fields["duration_ms"],
                    request_id, extra=fields)
    return response


def request_context() -> dict[str, Any]:
    """Return the fields every log record written during a request carries (its id)."""
    if has_request_context() and "request_id" in g:
        return {"request_id": g.request_id}
    return {}


def init_app(app: Flask) -> None:
    """Time and identify every request, before any other hook; log it after every other."""
    app.before_request_funcs.setdefault(None, []).insert(0, start_request)
    app.after_request_funcs.setdefault(None, []).insert(0, finish_request)  # after-request hooks run in reverse
    logs.add_context(request_context)
