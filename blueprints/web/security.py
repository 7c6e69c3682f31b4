"""Response headers and request hygiene that every page gets."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import Flask, request

# Everything is served by the hub itself: no CDN, no inline script.
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
       "frame-ancestors 'none'")


def set_headers(response):
    """Add the security headers to a response."""
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CSP)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("Permissions-Policy", "geolocation=(), camera=(), microphone=()")
    if request.is_secure:
        headers.setdefault("Strict-Transport-Security", "max-age=31536000")
    if response.mimetype == "text/html":
        # Pages may hold drafts or members-only text: never keep them in shared caches.
        headers.setdefault("Cache-Control", "private, no-store")
    return response


def safe_next(target: str | None, default: str) -> str:
    """Return ``target`` when it is a path on this hub, else ``default`` (no open redirects)."""
    if not target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") \
            or "\\" in target:
        return default
    return target


def client_key() -> str:
    """Return what identifies the client for throttling (the remote address)."""
    return request.remote_addr or "unknown"


def init_app(app: Flask) -> None:
    """Register the header hook."""
    app.after_request(set_headers)
