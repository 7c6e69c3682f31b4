"""Absolute links for mails, built from ``BASE_URL`` and the hub's routes, without a request."""
from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import current_app


def url(endpoint: str, **values: Any) -> str:
    """Return the absolute URL of ``endpoint`` on this hub, as readers reach it (``BASE_URL``)."""
    base = urlsplit(str(current_app.config["BASE_URL"]).rstrip("/"))
    adapter = current_app.url_map.bind(base.netloc, script_name=base.path or "/", url_scheme=base.scheme or "https")
    return adapter.build(endpoint, values, force_external=True)


def host() -> str:
    """Return the hub's host name (for Message-IDs and the default sender)."""
    return urlsplit(str(current_app.config["BASE_URL"])).hostname or "localhost"
