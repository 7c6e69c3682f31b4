"""Rate limits for machines (the API, feeds, OAI-PMH), with ``RateLimit-*`` and ``Retry-After`` headers.

One Flask-Limiter per app, and one budget per caller across all three faces, whichever address
it asks (an application-wide limit, not Flask-Limiter's default of a counter per route, which
let a caller make the limit's worth of requests to every endpoint). A request to the API with a
working API token counts against that token (``API_RATE_LIMIT``); any other request (the API
without a token, a feed, OAI-PMH) counts against its client address
(``API_RATE_LIMIT_ANONYMOUS``): a harvester, a feed reader and a script on one address share
that address's budget, since their load on the hub is the same whichever face they read.
Counters live in ``RATELIMIT_STORAGE_URI``: ``memory://`` by default, which is per process (with
gunicorn -w 3 a caller gets up to three times the limit); point it at a shared store (e.g.
``redis://host:6379``, with the ``redis`` package installed) when several processes serve the hub.
``memory://`` is served by :class:`SweptMemoryStorage`: limits' own, without a thread per request.
"""
from __future__ import annotations

import math
import time

from flask import Flask, Response, current_app, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from limits.storage import MemoryStorage

from blueprints.api.access import caller_token

LIMITED_BLUEPRINTS = ("api", "feeds", "oai")
EXTENSION = "hub.rate_limiter"


class SweptMemoryStorage(MemoryStorage):
    """limits' in-process storage, its expired counters swept while counting rather than by a timer thread.

    ``MemoryStorage`` starts a ``threading.Timer`` whenever the last one has run (10 ms after it
    started): a new thread for most requests of a caller who asks every few milliseconds or more
    seldom, about a tenth of a small API request's CPU. Counts never wait for the sweep (reading a
    counter checks its expiry); the sweep only frees memory, so here a request runs it at most
    once a second. It overrides the private method every counting method calls (limits is pinned;
    ``tests/functional/test_api_tokens.py`` checks that no thread starts).
    """

    STORAGE_SCHEME = ["hub-memory"]
    SWEEP_SECONDS = 1.0

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False, **options: str) -> None:
        self._swept = time.monotonic()
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)

    def _MemoryStorage__schedule_expiry(self) -> None:  # noqa: N802 (the name Python gives the private method)
        now = time.monotonic()
        if now - self._swept >= self.SWEEP_SECONDS:
            self._swept = now
            self._MemoryStorage__expire_events()


def _storage_uri(configured: str) -> str:
    """Return the limiter's storage: :class:`SweptMemoryStorage` for ``memory://``, else as configured."""
    return "hub-memory://" + configured.removeprefix("memory://") if configured.startswith("memory://") else configured


def _key() -> str:
    token = caller_token() if request.blueprint == "api" else None
    return f"token:{token.id}" if token is not None else f"address:{get_remote_address()}"


def _limit() -> str:
    token = caller_token() if request.blueprint == "api" else None
    return current_app.config["API_RATE_LIMIT" if token is not None else "API_RATE_LIMIT_ANONYMOUS"]


def _not_limited() -> bool:
    return request.blueprint not in LIMITED_BLUEPRINTS


def init_app(app: Flask) -> None:
    """Give ``app`` its own limiter (so apps never share counters), for the machine-facing blueprints.

    Flask-Limiter hooks into every request of the app; its hooks are moved to the limited
    blueprints, so that pages for people do not run them at all (a check, a header hook and a
    teardown on every page, about a tenth of a whole kept page's CPU). The request filter stays,
    in case a hook is ever registered for the whole app again.
    """
    hooks = (app.before_request_funcs, app.after_request_funcs, app.teardown_request_funcs)
    before = [list(functions.get(None, ())) for functions in hooks]
    limiter = Limiter(_key, app=app, application_limits=[_limit], headers_enabled=False,
                      storage_uri=_storage_uri(app.config["RATELIMIT_STORAGE_URI"]), key_prefix="hub")
    limiter.request_filter(_not_limited)
    for functions, existing in zip(hooks, before):
        added = [function for function in functions.get(None, ()) if function not in existing]
        functions[None] = existing
        for name in LIMITED_BLUEPRINTS:  # first among the blueprint's own: before its token check, as before
            functions.setdefault(name, [])[:0] = added
    for name in LIMITED_BLUEPRINTS:  # after-request hooks run last-registered first: this one after the blueprint's
        app.after_request_funcs.setdefault(name, []).insert(0, add_headers)
    app.extensions[EXTENSION] = limiter


def add_headers(response: Response) -> Response:
    """Say how many requests are left (RateLimit-*), and when to come back after a 429 (Retry-After)."""
    limiter: Limiter | None = current_app.extensions.get(EXTENSION)
    current = limiter.current_limit if limiter is not None else None
    if current is None:
        return response
    wait = max(0, math.ceil(current.window[0] - time.time()))  # reset_at adds a second of margin
    response.headers["RateLimit-Limit"] = str(current.limit.amount)
    response.headers["RateLimit-Remaining"] = str(current.remaining)
    response.headers["RateLimit-Reset"] = str(wait)
    response.headers["RateLimit-Policy"] = f"{current.limit.amount};w={current.limit.get_expiry()}"
    if response.status_code == 429:
        response.headers["Retry-After"] = str(max(1, wait))
    return response
