"""Response headers and request hygiene that every page gets."""
from __future__ import annotations

from itertools import chain
from urllib.parse import urlsplit

from flask import Flask, abort, request

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


def refuse_nul_bytes() -> None:
    """Answer 400 to text holding a NUL byte, in the path, the query string or a form.

    No person types one, and PostgreSQL can neither store nor compare it (a query with it fails),
    so it is refused here once instead of by every view.
    """
    texts = [request.path, *chain.from_iterable(request.args.items(multi=True))]
    if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        texts += chain.from_iterable(request.form.items(multi=True))
        texts += [upload.filename or "" for _name, upload in request.files.items(multi=True)]
    if any("\x00" in text for text in texts):
        abort(400)


def client_key() -> str:
    """Return what identifies the client for throttling (the remote address)."""
    return request.remote_addr or "unknown"


def init_app(app: Flask) -> None:
    """Register the header hook and, before the access guard reads anything, the NUL check."""
    app.before_request_funcs.setdefault(None, []).insert(0, refuse_nul_bytes)
    app.after_request(set_headers)
