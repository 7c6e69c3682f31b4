"""Response headers and request hygiene that every page gets."""
from __future__ import annotations

from itertools import chain
from urllib.parse import urlsplit

from flask import Flask, g, request
from flask.sessions import SecureCookieSessionInterface
from flask_wtf.csrf import CSRFError, same_origin
from itsdangerous import URLSafeTimedSerializer
from werkzeug.exceptions import BadRequest

# Everything is served by the hub itself: no CDN, no inline script.
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
       "frame-ancestors 'none'")


HEADERS = (
    ("Content-Security-Policy", CSP),
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "same-origin"),
    ("Permissions-Policy", "geolocation=(), camera=(), microphone=()"),
)
HTTPS_HEADERS = (("Strict-Transport-Security", "max-age=31536000"),)
# Pages may hold drafts or members-only text: never keep them in shared caches.
PAGE_HEADERS = (("Cache-Control", "private, no-store"),)


def set_headers(response):
    """Add the security headers to a response (those a view set itself stay as it set them)."""
    headers = response.headers
    present = {name.lower() for name in headers.keys()}  # one pass, not one per header
    wanted = HEADERS
    if request.is_secure:
        wanted += HTTPS_HEADERS
    if response.mimetype == "text/html":
        wanted += PAGE_HEADERS
    for name, value in wanted:
        if name.lower() not in present:
            headers.add(name, value)
    return response


class SessionCookie(SecureCookieSessionInterface):
    """Flask's signed session cookie, its signing serializer built once per set of keys, not per request."""

    _built: tuple[tuple, URLSafeTimedSerializer | None] = ((), None)  # (the keys, their serializer)

    def get_signing_serializer(self, app: Flask) -> URLSafeTimedSerializer | None:
        keys = (app.secret_key, tuple(app.config["SECRET_KEY_FALLBACKS"] or ()))
        built_for, serializer = self._built
        if built_for != keys or serializer is None:  # a new key or fallback replaces the old serializer
            serializer = super().get_signing_serializer(app)
            self._built = (keys, serializer)
        return serializer


def safe_next(target: str | None, default: str) -> str:
    """Return ``target`` when it is a path on this hub, else ``default`` (no open redirects)."""
    if not target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") \
            or "\\" in target:
        return default
    return target


class NulByte(BadRequest):
    """A NUL byte in the request; ``parameter`` names the query parameter that holds it (else None).

    Pages answer it as any 400; the API answers a parameter's as its other bad parameters.
    """

    def __init__(self, parameter: str | None = None) -> None:
        super().__init__()
        self.parameter = parameter


def refuse_nul_bytes() -> None:
    """Answer 400 to text holding a NUL byte, in the path, the query string or a form.

    No person types one, and PostgreSQL can neither store nor compare it (a query with it fails),
    so it is refused here once instead of by every view.
    """
    if "\x00" in request.path:
        raise NulByte()
    for name, value in request.args.items(multi=True):
        if "\x00" in name or "\x00" in value:
            raise NulByte(parameter=name)
    if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        texts = [*chain.from_iterable(request.form.items(multi=True)),
                 *(upload.filename or "" for _name, upload in request.files.items(multi=True))]
        if any("\x00" in text for text in texts):
            raise NulByte()


NO_SOURCE = "The request says neither its Origin nor its Referer."


def check_same_origin() -> None:
    """Refuse a form sent over https from another site's page (after Flask-WTF's token check).

    Flask-WTF's own check (``WTF_CSRF_SSL_STRICT``, off in the hub's settings) reads the Referer
    header alone, and refuses every form without one: browsers set to send no referrer, and
    privacy tools that strip it, could then send no form at all. Browsers send the Origin header
    with every form they post, and it cannot be left out by a page; it is read first, and the
    Referer only when it is absent (or "null", as from a privacy-sensitive context).
    """
    if not g.get("csrf_valid") or not request.is_secure:  # no form checked here, or plain http
        return
    origin = request.headers.get("Origin")
    source = origin if origin and origin != "null" else request.referrer
    if not source:
        raise CSRFError(NO_SOURCE)
    if not same_origin(source, f"https://{request.host}/"):
        raise CSRFError("The origin does not match the host.")


def client_key() -> str:
    """Return what identifies the client for throttling (the remote address)."""
    return request.remote_addr or "unknown"


def init_app(app: Flask) -> None:
    """Register the header hook, the session cookie and, before the access guard reads anything, the NUL check."""
    app.before_request_funcs.setdefault(None, []).insert(0, refuse_nul_bytes)
    app.after_request(set_headers)
    app.before_request(check_same_origin)  # after Flask-WTF's csrf_protect, registered with the extensions
    app.session_interface = SessionCookie()
