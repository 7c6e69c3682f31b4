"""What went wrong talking to another hub, in the reader's language.

Federation errors (:class:`hub.federation.http.FetchError`, :class:`hub.federation.client.DiscoveryError`)
carry a ``code`` and its ``params`` beside their English message. The message is for the logs,
which stay in English; people read :func:`explain`, translated when it is shown (lazily, so a
message made in the worker or on the command line is translated for whoever reads it), and a
delivery keeps its last problem as ``{"code": …, **params}`` for the partner's page.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask_babel import lazy_gettext as _l

# code -> the message, given the error's parameters (a lambda, so that each message stays one
# lazy_gettext call that the catalogue extraction finds).
MESSAGES: dict[str, Callable[[dict[str, Any]], Any]] = {
    # the address itself
    "invalid_address": lambda p: _l("the address is not valid", **p),
    "not_ascii": lambda p: _l("the address has characters that must be percent-encoded", **p),
    "scheme": lambda p: _l("only http and https addresses can be used", **p),
    "credentials": lambda p: _l("addresses with a user name or password are not allowed", **p),
    "blocked_address": lambda p: _l(
        "%(host)s leads to an address inside a private network (%(ip)s), which the hub never contacts", **p),
    "dns_timeout": lambda p: _l("looking up %(host)s took too long", **p),
    "dns_failed": lambda p: _l("%(host)s could not be found", **p),
    "no_addresses": lambda p: _l("%(host)s has no address", **p),
    # the connection
    "connect_failed": lambda p: _l("could not connect to %(host)s", **p),
    "timeout": lambda p: _l("the other hub took too long to answer", **p),
    "tls_rejected": lambda p: _l("the other hub's security certificate was not accepted", **p),
    "connection_failed": lambda p: _l("the connection broke off", **p),
    "bad_response": lambda p: _l("the other hub's answer could not be read", **p),
    "network": lambda p: _l("a network error", **p),
    "too_many_redirects": lambda p: _l("the address redirected too many times", **p),
    "too_large": lambda p: _l("the answer was larger than the hub accepts", **p),
    "http_status": lambda p: _l("the other hub answered with error %(status)s", **p),
    "not_json": lambda p: _l("the answer was not an ActivityPub document", **p),
    # what was found there
    "no_hub": lambda p: _l("no ActivityPub hub answered at this address", **p),
    "unreachable": lambda p: _l("the hub could not be reached: %(cause)s", **p),
    "not_actor": lambda p: _l("the answer is not an ActivityPub actor", **p),
    "wrong_type": lambda p: _l("the answer is not a server or person but something else", **p),
    "id_mismatch": lambda p: _l("the actor document names another address than the one asked for", **p),
    "no_inbox": lambda p: _l("the actor has no inbox", **p),
    "foreign_inbox": lambda p: _l("the actor's inbox or outbox is on another server", **p),
    "no_key": lambda p: _l("the actor publishes no usable public key", **p),
    "foreign_key": lambda p: _l("the actor's key is on another server", **p),
    "too_long": lambda p: _l("the actor document has addresses or a key too long to keep", **p),
    # deliveries
    "hub_blocked": lambda p: _l("the hub is blocked", **p),
    "gave_up": lambda p: _l("given up after the last try", **p),
    "unexpected": lambda p: _l("an unexpected error in this hub (see its log)", **p),
}


def problem_of(error: BaseException) -> dict[str, Any]:
    """Return an error's code and parameters as stored data (a cause is stored as its own problem)."""
    params = dict(getattr(error, "params", None) or {})
    if isinstance(params.get("cause"), BaseException):
        params["cause"] = problem_of(params["cause"])
    return {"code": getattr(error, "code", None) or "invalid_address", **params}


def explain(problem: dict[str, Any] | BaseException) -> Any:
    """Return what went wrong as a lazily translated message (an error, or a stored problem)."""
    if isinstance(problem, BaseException):
        problem = problem_of(problem)
    code = problem.get("code", "")
    params = {key: explain(value) if isinstance(value, dict) else value
              for key, value in problem.items() if key != "code"}
    if code not in MESSAGES:
        return _l("an error the hub has no words for (%(code)s)", code=code)
    return MESSAGES[code](params)
