"""HTTP for machines: problem documents, query parameters, the validator (ETag) and caching.

Every API answer goes through :func:`respond` (a 200 with ``ETag``, or a 304 when the caller
already holds it) or :func:`fail` (an RFC 9457 problem document in the caller's language, the
same kind the hub's error handler gives every other API error).

The ETag is a hash of the answer itself, so it changes with anything the answer shows: a note
taken down, a translation withdrawn, a pseudonym or project renamed. No ``Last-Modified`` is
sent: a date taken from what a list still holds goes backwards when its newest note is taken
down, and a client asking ``If-Modified-Since`` would then keep that note; without it, such a
request is simply answered in full.
"""
from __future__ import annotations

import json
from typing import Any, NoReturn

from flask import Response, abort, current_app, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from marshmallow import Schema, ValidationError

from blueprints.web.common import conditional
from blueprints.web.errors import problem_response, render_error
from blueprints.web.security import NulByte

# i18n: what a query parameter must hold; shown after "Check the parameter …: expected …".
EXPECTED = {
    "per_page": _l("a whole number, at least 1"),
    "page": _l("a whole number, at least 1"),
    "language": _l("zh_Hans or en"),
    "order": _l("published or updated"),
    "updated_since": _l("a date and time in ISO 8601, e.g. 2024-05-01T08:30:00Z"),
    "since": _l("a date and time in ISO 8601, e.g. 2024-05-01T08:30:00Z"),
    "sort": _l("relevance or newest"),
    "expand": _l("0 or 1"),
    "origin": _l("local or remote"),
    "cursor": _l("the next_cursor of the previous page"),
    "topic": _l("a short name of at most 64 characters"),
    "project": _l("a short name of at most 64 characters"),
    "population": _l("a short name of at most 64 characters"),
    "place": _l("a place name of at most 100 characters"),
    "year": _l("a year of four digits, e.g. 2024"),
}


def problem(status: int, detail: str | None = None, *, code: str | None = None, **extensions: Any) -> Response:
    """Return a problem document; ``code`` names the kind of problem for programs."""
    if code:
        extensions = {"code": code, **extensions}
    return problem_response(status, detail, **extensions)


def fail(status: int, detail: str | None = None, *, code: str | None = None,
         headers: dict[str, str] | None = None, **extensions: Any) -> NoReturn:
    """Stop the request with a problem document."""
    response = problem(status, detail, code=code, **extensions)
    response.headers.update(headers or {})
    abort(response)


def parameter_detail(name: str) -> str:
    """Return what is wrong with the query parameter ``name``, in the caller's language."""
    return _("Check the parameter %(name)s: expected %(expected)s.", name=name,
             expected=EXPECTED.get(name, _("a shorter text")))


def load_query(schema: Schema) -> dict[str, Any]:
    """Read the query string through ``schema``; a bad parameter is a 400 naming it and what it must hold."""
    try:
        return schema.load(request.args)
    except ValidationError as error:
        names = sorted(error.messages) if isinstance(error.messages, dict) else []
        errors = [{"parameter": name, "detail": parameter_detail(name)} for name in names]
        fail(400, errors[0]["detail"] if errors else None, code="bad_parameter", errors=errors)


def nul_parameter(error: NulByte) -> Response:
    """Answer a NUL byte in a query parameter as a bad parameter; one in the path or a form as any bad request."""
    if error.parameter is None:
        return render_error(400)
    # i18n: a query parameter holds the character U+0000 (NUL); %(name)s is the parameter's name
    detail = _("Check the parameter %(name)s: it holds a NUL character, which the hub never accepts.",
               name=error.parameter.replace("\x00", "\\0"))
    return problem(400, detail, code="bad_parameter", errors=[{"parameter": error.parameter, "detail": detail}])


def respond(schema: Schema, payload: Any) -> Response:
    """Answer ``payload`` dumped through ``schema``, or 304 when the caller's copy is current."""
    return respond_document(schema.dump(payload))


def respond_document(document: Any) -> Response:
    """Answer a JSON document with its ``ETag`` (a hash of the body), or 304 when the caller holds that body."""
    body = json.dumps(document, ensure_ascii=False, separators=(",", ":"), sort_keys=True, default=str).encode()
    return conditional(current_app.response_class(body, mimetype="application/json"))


def add_cache_headers(response: Response, *, personal: bool) -> Response:
    """Say what caches may keep: answers depend on who asks and in which language."""
    response.vary.update(("Authorization", "Cookie", "Accept-Language"))
    if "Cache-Control" not in response.headers:
        response.headers["Cache-Control"] = "private, no-cache" if personal else "no-cache"
    return response
