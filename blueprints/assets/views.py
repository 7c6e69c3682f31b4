"""Static files under content-hashed URLs, which browsers keep for a year without asking again.

Pages name their stylesheet, scripts and icon through ``static_url("hub.css")``, which gives
``/assets/<hash>/hub.css``. The hash is taken from the file's bytes, so a changed file gets a new
URL and a browser may keep each copy for a year (``immutable``): on a slow phone connection a
page whose assets are cached costs one request, the page itself, instead of one revalidation
per file. The plain ``/static/…`` URLs keep working with a short cache.
"""
from __future__ import annotations

import base64
import functools
import hashlib
import mimetypes
import os

from flask import Blueprint, current_app, request, url_for
from werkzeug.exceptions import NotFound
from werkzeug.security import safe_join
from werkzeug.wrappers import Response

from blueprints.web.access import public

bp = Blueprint("assets", __name__)

HASHED_CACHE = "public, max-age=31536000, immutable"
PLAIN_CACHE = "public, max-age=300"
DIGEST_CHARS = 10


def _path_of(filename: str) -> str:
    """Return the file's path inside the static folder; NotFound for anything outside or missing."""
    path = safe_join(current_app.static_folder or "", filename)
    if path is None or not os.path.isfile(path):
        raise NotFound()
    return path


@functools.lru_cache(maxsize=64)
def _digest(path: str, _mtime_ns: int, _size: int) -> str:
    """Hash a file's bytes once per version of the file (the key holds its modification time and size)."""
    with open(path, "rb") as handle:
        return hashlib.sha256(handle.read()).hexdigest()[:DIGEST_CHARS]


def digest_of(filename: str) -> str:
    """Return the short content hash of a file in the static folder."""
    path = _path_of(filename)
    stat = os.stat(path)
    return _digest(path, stat.st_mtime_ns, stat.st_size)


@bp.app_template_global()
def static_url(filename: str) -> str:
    """Return the content-hashed URL of a static file (for templates)."""
    return url_for("assets.hashed", digest=digest_of(filename), filename=filename)


@bp.app_template_global()
def static_data_url(filename: str) -> str:
    """Return a small static file as a data: URL, for the icon: browsers ask for it again on some
    navigations even when it is cached, and inline it costs 300 bytes instead of a round trip."""
    path = _path_of(filename)
    stat = os.stat(path)
    return _data_url(path, stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=8)
def _data_url(path: str, _mtime_ns: int, _size: int) -> str:
    """Encode a file as a data: URL once per version of the file."""
    with open(path, "rb") as handle:
        encoded = base64.b64encode(handle.read()).decode("ascii")
    return f"data:{mimetypes.guess_type(path)[0]};base64,{encoded}"


@bp.get("/assets/<digest>/<path:filename>")
@public
def hashed(digest: str, filename: str) -> Response:
    """Send a static file; a year's caching when the URL names its current content."""
    response = current_app.send_static_file(filename)
    # A page from before a change may ask for an older hash: it gets today's file, briefly cached.
    current = digest == digest_of(filename)
    response.headers["Cache-Control"] = HASHED_CACHE if current else PLAIN_CACHE
    return response


@bp.after_app_request
def _plain_static_cache(response: Response) -> Response:
    """Let browsers keep files fetched by their plain /static/ URL for a few minutes."""
    if request.endpoint == "static" and response.status_code in (200, 304):
        response.headers["Cache-Control"] = PLAIN_CACHE
    return response
