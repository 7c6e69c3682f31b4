"""Views for operators and their machines: liveness, readiness, metrics.

- ``/healthz`` (liveness) answers from the process alone, without the database: a load balancer
  or supervisor that restarts a process on failure must not restart every web process because
  the database is away for a minute.
- ``/readyz`` (readiness) checks the database, this process's search index, this node's worker
  heartbeat and its lag; 503 with the failed checks named while any fails.
- ``/metrics`` is Prometheus's text format, only with ``Authorization: Bearer $HUB_METRICS_TOKEN``;
  without a configured token it does not exist (404).
"""
from __future__ import annotations

import hmac
import os

from flask import Blueprint, Response, abort, current_app, jsonify, request
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest, multiprocess
from prometheus_client.core import GaugeMetricFamily

import search_index
from blueprints.web.access import public
from blueprints.web.errors import RETRY_AFTER_SECONDS, answers_json
from hub.services import operations

bp = Blueprint("ops", __name__)


@bp.get("/healthz")
@public
@answers_json
def healthz():
    """Answer that this process serves requests (liveness; no database)."""
    return {"status": "ok"}


@bp.get("/readyz")
@public
@answers_json
def readyz():
    """Answer 200 when the database, the index and this node's worker are fine, else 503 naming what failed."""
    checks = operations.readiness(operations.figures(), index_available=search_index.health()["available"],
                                  max_lag=int(current_app.config["READY_MAX_LAG"]))
    failed = [check.name for check in checks if not check.ok]
    response = jsonify(status="not ready" if failed else "ready", failed=failed,
                       checks={check.name: {"ok": check.ok, "detail": check.detail} for check in checks})
    if failed:
        response.status_code = 503
        response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/metrics")
@public  # not a page for people: its own bearer token decides
def metrics():
    """Serve the Prometheus metrics to a scraper holding the metrics token."""
    token = str(current_app.config["METRICS_TOKEN"] or "")
    if not token:
        abort(404)
    sent = request.headers.get("Authorization", "")
    if not hmac.compare_digest(sent.encode(), f"Bearer {token}".encode()):
        return Response("metrics token required\n", 401, {"WWW-Authenticate": 'Bearer realm="hub-metrics"'},
                        mimetype="text/plain")
    return Response(_exposition(), mimetype=CONTENT_TYPE_LATEST, headers={"Cache-Control": "no-store"})


def _exposition() -> bytes:
    """Return every process's request metrics (added up under gunicorn) and the hub's figures now."""
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.MultiProcessCollector(registry)
        per_process = b""
    else:
        per_process = generate_latest(REGISTRY)
    registry.register(_HubFigures())
    return per_process + generate_latest(registry)


class _HubFigures:
    """Gauges read when scraped: database, event log, worker heartbeat and lag, deliveries, index."""

    def collect(self):
        """Yield the gauges (a database that cannot be reached gives hub_database_up 0 and no others)."""
        found = operations.figures()
        yield GaugeMetricFamily("hub_database_up", "1 when the database answered this scrape.",
                                value=int(found.database))
        index = search_index.health()
        yield GaugeMetricFamily("hub_search_index_available", "1 when this process can read the search index.",
                                value=int(index["available"]))
        if index["generation"] is not None:
            yield GaugeMetricFamily("hub_search_index_generation", "Commit of the search index this process reads.",
                                    value=index["generation"])
        if not found.database:
            return
        yield GaugeMetricFamily("hub_event_log_head", "Id of the newest event in the log.", value=found.event_head)
        up = GaugeMetricFamily("hub_worker_up", "1 while a node's worker writes heartbeats.", labels=["node"])
        age = GaugeMetricFamily("hub_worker_heartbeat_age_seconds", "Seconds since a node's worker's last heartbeat.",
                                labels=["node"])
        lag = GaugeMetricFamily("hub_event_lag_events", "Events a node's consumer is behind the log (at its last "
                                "heartbeat).", labels=["node", "consumer"])
        for worker in found.workers:
            up.add_metric([worker["node"]], int(worker["running"]))
            age.add_metric([worker["node"]], worker["age_seconds"])
            for consumer, behind in sorted(worker["lag"].items()):
                lag.add_metric([worker["node"], consumer], behind)
        yield from (up, age, lag)
        queue = GaugeMetricFamily("hub_federation_deliveries", "Deliveries to partner hubs, by state (pending: the "
                                  "queue; held: kept for hubs off the allow-list until they are listed "
                                  "again; dead: failed for good).", labels=["state"])
        for state, count in sorted(found.deliveries.items()):
            queue.add_metric([state], count)
        yield queue
