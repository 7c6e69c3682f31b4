"""Rate limits for machines (the API, feeds, OAI-PMH), with ``RateLimit-*`` and ``Retry-After`` headers.

One budget per caller across all three faces, whichever address it asks (not a counter per
route, which would let a caller make the limit's worth of requests to every endpoint). A request
to the API with a working API token counts against that token (``API_RATE_LIMIT``); any other
request (the API without a token, a feed, OAI-PMH) counts against its client address
(``API_RATE_LIMIT_ANONYMOUS``): a harvester, a feed reader and a script on one address share
that address's budget, since their load on the hub is the same whichever face they read.
Counters live in ``RATELIMIT_STORAGE_URI``: ``memory://`` by default, which is per process (with
gunicorn -w 3 a caller gets up to three times the limit); point it at a shared store (e.g.
``redis://host:6379``, with the ``redis`` package installed) when several processes serve the hub.
``memory://`` is served by :class:`SweptMemoryStorage`: limits' own, without a thread per request.

The counting is the ``limits`` library's fixed window, called directly from one hook of the
limited blueprints. Flask-Limiter did the same through its general machinery (limits per route,
per blueprint and per app, exemptions, dynamic limits resolved anew, conditional deductions,
a context kept per request), none of which this one application-wide budget uses: it cost about
0.1 ms of CPU per request, a tenth of a small API answer beyond its search.
"""
from __future__ import annotations

import functools
import math
import time
from dataclasses import dataclass

from flask import Flask, Response, abort, current_app, g, request
from limits import RateLimitItem, parse
from limits.storage import MemoryStorage, Storage, storage_from_string
from limits.strategies import FixedWindowRateLimiter

from blueprints.api.access import caller_token

LIMITED_BLUEPRINTS = ("api", "feeds", "oai")
EXTENSION = "hub.rate_limiter"
KEY_PREFIX = "hub"
COUNTED = "hub_rate_limit"  # on g: the limit this request counted against, and where the caller stands


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


@dataclass(frozen=True)
class Counted:
    """Where a caller stands after this request was counted."""

    limit: RateLimitItem
    remaining: int
    reset_at: float  # when the window ends, in seconds since the epoch


class MachineLimiter:
    """The app's counters for the limited blueprints (one per app, so apps never share counters)."""

    def __init__(self, storage_uri: str) -> None:
        self.storage: Storage = storage_from_string(_storage_uri(storage_uri))
        self.counter = FixedWindowRateLimiter(self.storage)

    def count(self, key: str, limit: RateLimitItem) -> tuple[bool, Counted]:
        """Count one request of ``key`` against ``limit``; return whether it is allowed and where it stands."""
        allowed = self.counter.hit(limit, KEY_PREFIX, key)
        reset_at, remaining = self.counter.get_window_stats(limit, KEY_PREFIX, key)
        return allowed, Counted(limit=limit, remaining=remaining, reset_at=reset_at)


@functools.lru_cache(maxsize=16)
def _parsed(text: str) -> RateLimitItem:
    """Return the limit a setting names ("600 per minute"), read once per distinct setting."""
    return parse(text)


def _caller() -> tuple[str, str]:
    """Return the caller's counter key and the setting of its limit: its API token's, else its address's."""
    token = caller_token() if request.blueprint == "api" else None
    if token is not None:
        return f"token:{token.id}", "API_RATE_LIMIT"
    return f"address:{request.remote_addr or '127.0.0.1'}", "API_RATE_LIMIT_ANONYMOUS"


def check() -> None:
    """Count this request against its caller's budget; refuse it with 429 beyond the limit."""
    key, setting = _caller()
    limit = _parsed(current_app.config[setting])
    allowed, counted = current_app.extensions[EXTENSION].count(key, limit)
    setattr(g, COUNTED, counted)  # the answer says where the caller stands, a refusal too
    if not allowed:
        abort(429)


def init_app(app: Flask) -> None:
    """Give ``app`` its counters, checked first among the limited blueprints' own hooks (before the token check).

    Only these blueprints count: pages for people never run the check or the header hook.
    """
    app.extensions[EXTENSION] = MachineLimiter(app.config["RATELIMIT_STORAGE_URI"])
    for name in LIMITED_BLUEPRINTS:
        app.before_request_funcs.setdefault(name, []).insert(0, check)
        # after-request hooks run last-registered first: this one after the blueprint's own
        app.after_request_funcs.setdefault(name, []).insert(0, add_headers)


def add_headers(response: Response) -> Response:
    """Say how many requests are left (RateLimit-*), and when to come back after a 429 (Retry-After)."""
    counted: Counted | None = g.get(COUNTED)
    if counted is None:
        return response
    wait = max(0, math.ceil(counted.reset_at - time.time()))
    response.headers["RateLimit-Limit"] = str(counted.limit.amount)
    response.headers["RateLimit-Remaining"] = str(counted.remaining)
    response.headers["RateLimit-Reset"] = str(wait)
    response.headers["RateLimit-Policy"] = f"{counted.limit.amount};w={counted.limit.get_expiry()}"
    if response.status_code == 429:
        response.headers["Retry-After"] = str(max(1, wait))
    return response
