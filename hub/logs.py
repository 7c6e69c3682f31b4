"""The hub's log output: plain lines (Flask's default) or, with ``HUB_LOG_FORMAT=json``, one JSON
object per line for a log collector.

What the hub logs never holds note text, search queries or personal data: the access log names
the endpoint (``notes.detail``), never the path or query string, and the client's address only
when an operator asks for it (``HUB_LOG_CLIENT_IP``); SQL errors name the statement, never its
values (the engine's ``hide_parameters``). The web side adds each request's id to every record
written while it is handled (:func:`add_context`).
"""
from __future__ import annotations

import datetime as dt
import json
import logging
import sys
from collections.abc import Callable
from typing import Any

from flask import Flask

# Fields a record may carry beside its message (the access log's, and the request id).
FIELDS = ("request_id", "method", "endpoint", "status", "duration_ms", "client_ip")
_context: list[Callable[[], dict[str, Any]]] = []


def add_context(provider: Callable[[], dict[str, Any]]) -> None:
    """Add ``provider``: its fields (say, the request id) go into every JSON record written meanwhile."""
    if provider not in _context:
        _context.append(provider)


class JsonFormatter(logging.Formatter):
    """Format a record as one line of JSON: time, level, logger, message, context and fields."""

    def format(self, record: logging.LogRecord) -> str:
        """Return the record as a JSON object on one line (tracebacks included, newlines escaped)."""
        entry: dict[str, Any] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname, "logger": record.name, "message": record.getMessage(),
        }
        for provider in _context:
            entry.update(provider())
        entry.update({name: getattr(record, name) for name in FIELDS if hasattr(record, name)})
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def configure(app: Flask) -> None:
    """Set up the log output named by ``LOG_FORMAT`` ("text" or "json"); INFO lines in production."""
    if app.config["LOG_FORMAT"] == "json":
        root = logging.getLogger()
        for handler in [h for h in root.handlers if isinstance(h.formatter, JsonFormatter)]:
            root.removeHandler(handler)  # a second app, or gunicorn's own JSON set-up, must not print twice
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(JsonFormatter())
        root.addHandler(handler)
        from flask.logging import default_handler

        app.logger.removeHandler(default_handler)  # records reach the JSON handler through the root
    if not app.debug and not app.testing:
        app.logger.setLevel(logging.INFO)
