"""The OpenAPI 3.1 document of the API, generated from the routes and schemas themselves.

Each API view declares what it answers with :func:`operation` (its query schema, its response
schema, its problem statuses); :func:`build_spec` walks the app's URL map for those views and
hands the marshmallow schemas to apispec, so the document cannot drift from the code: the same
schemas load the queries and dump the answers. The document is built per language (descriptions
are translated) and served at ``/api/v1/openapi.json``; ``/api/v1/docs`` renders it as a page of
the hub (no script, no CDN).
"""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Flask, current_app, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from marshmallow import Schema

from blueprints.api import schemas
from blueprints.api.blueprint import bp
from blueprints.api.http import respond_document
from blueprints.web.access import public

F = TypeVar("F", bound=Callable[..., Any])
DOC_ATTR = "_api_operation"
API_VERSION = "1.0"
PROBLEM_TITLES = {
    304: _l("Not modified: the copy named in If-None-Match is current"),
    400: _l("A query parameter is not valid (problem document naming it)"),
    401: _l("The bearer token is unknown, expired or revoked"),
    404: _l("No such resource, or the caller may not see it"),
    410: _l("The caller could read this note and may no longer (it is listed under removed notes)"),
    429: _l("Too many requests: wait for Retry-After seconds"),
    503: _l("Search is unavailable right now; try again later"),
}
RATE_HEADERS = {
    "RateLimit-Limit": _l("Requests allowed in the current window"),
    "RateLimit-Remaining": _l("Requests left in the current window"),
    "RateLimit-Reset": _l("Seconds until the window resets"),
}


@dataclass(frozen=True)
class Operation:
    """What one API view answers, for the document."""

    summary: Any
    response: type[Schema]
    query: type[Schema] | None = None
    problems: tuple[int, ...] = ()
    tags: tuple[str, ...] = field(default=("notes",))


def operation(summary: Any, *, response: type[Schema], query: type[Schema] | None = None,
              problems: tuple[int, ...] = (), tag: str = "notes") -> Callable[[F], F]:
    """Declare a GET view's part of the OpenAPI document."""
    def decorator(view: F) -> F:
        setattr(view, DOC_ATTR, Operation(summary, response, query, problems, (tag,)))
        return view
    return decorator


def documented_endpoints(app: Flask) -> dict[str, Operation]:
    """Return every endpoint that declared an :func:`operation`, by name."""
    return {name: getattr(view, DOC_ATTR) for name, view in app.view_functions.items() if hasattr(view, DOC_ATTR)}


def _description() -> str:
    return "\n\n".join(str(part) for part in (
        _l("Published practice notes of this hub, its projects and its bilingual vocabulary (topics, populations)."),
        _l("Anonymous callers read public notes. A personal token (made on the account page) reads what its "
           "person reads; an organisation token (made by an administrator for an allow-listed partner hub) "
           "reads public notes and the partners notes written here. Send it as Authorization: Bearer <token>. "
           "Drafts never appear, whoever asks."),
        _l("Lists of notes are paged by cursor: follow next, or pass next_cursor as cursor. The order is "
           "stable, so no note is repeated or skipped while others are published. per_page is at most 50 "
           "(larger values are read as 50); search reads page numbers above 1000 as 1000. Each answer "
           "states these limits under limits."),
        _l("Mirrors: list notes with order=updated (oldest change here first), keep the changed_at of the last "
           "note read and pass it as updated_since next time (that note comes again); read /api/v1/notes/removed "
           "with since in the same way to learn which notes to drop (their ids and when they went, nothing else). "
           "A note removed for the caller answers 410 Gone."),
        _l("Every answer carries an ETag, which changes whenever anything in the answer changes (a note taken "
           "down included); send it as If-None-Match to get 304 Not Modified when nothing changed. There is no "
           "Last-Modified. Errors are RFC 9457 problem documents "
           "(application/problem+json) in the language of Accept-Language."),
        _l("Requests are limited per token, or per client address without one, in one budget for every "
           "address (the feeds and OAI-PMH count against the client address's budget too); RateLimit-* headers "
           "say how many are left, and a 429 answer says when to try again (Retry-After)."),
    ))


def _path_of(rule: str) -> str:
    """Return an OpenAPI path for a Werkzeug rule: /api/v1/notes/<int:note_id> -> /api/v1/notes/{note_id}."""
    return re.sub(r"<(?:[^>:]+:)?([^>]+)>", r"{\1}", rule)


def _path_parameters(rule: str) -> list[dict[str, Any]]:
    parameters = []
    for converter, name in re.findall(r"<(?:([^>:]+):)?([^>]+)>", rule):
        schema = ({"type": "integer", "minimum": 1, "maximum": schemas.MAX_ID} if converter == "int"
                  else {"type": "string"})
        parameters.append({"in": "path", "name": name, "required": True, "schema": schema})
    return parameters


def _responses(doc: Operation) -> dict[str, Any]:
    rate = {name: {"description": str(text), "schema": {"type": "integer"}} for name, text in RATE_HEADERS.items()}
    validators = {"ETag": {"description": str(_l("Changes whenever the answer changes")), "schema": {"type": "string"}}}
    problem = {"application/problem+json": {"schema": "Problem"}}
    responses: dict[str, Any] = {
        "200": {"description": str(_l("OK")), "headers": {**validators, **rate},
                "content": {"application/json": {"schema": doc.response}}},
        "304": {"description": str(PROBLEM_TITLES[304])},
        "429": {"description": str(PROBLEM_TITLES[429]), "content": problem,
                "headers": {"Retry-After": {"description": str(_l("Seconds to wait")), "schema": {"type": "integer"}}}},
    }
    for status in (*doc.problems, 401):
        responses[str(status)] = {"description": str(PROBLEM_TITLES[status]), "content": problem}
    return responses


def build_spec(app: Flask) -> dict[str, Any]:
    """Return the OpenAPI 3.1 document of ``app``'s API, in the current language."""
    spec = APISpec(title=str(_l("Practice Exchange Hub API")), version=API_VERSION, openapi_version="3.1.0",
                   plugins=[MarshmallowPlugin()],
                   info={"description": _description(), "license": {"name": "AGPL-3.0-or-later",
                                                                    "identifier": "AGPL-3.0-or-later"}},
                   servers=[{"url": str(app.config["BASE_URL"]).rstrip("/")}])
    spec.components.security_scheme("bearerAuth", {"type": "http", "scheme": "bearer", "description": str(_l(
        "A personal or organisation API token (not a feed token)"))})
    spec.components.schema("Problem", schema=schemas.Problem)
    docs = documented_endpoints(app)
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        doc = docs.get(rule.endpoint)
        if doc is None or "GET" not in rule.methods:
            continue
        parameters = _path_parameters(rule.rule)
        if doc.query is not None:
            parameters.append({"in": "query", "schema": doc.query})
        spec.path(path=_path_of(rule.rule), operations={"get": {
            "operationId": rule.endpoint.replace(".", "_"), "summary": str(doc.summary), "tags": list(doc.tags),
            "parameters": parameters, "security": [{}, {"bearerAuth": []}], "responses": _responses(doc)}})
    return spec.to_dict()


@bp.get("/api/v1/openapi.json")
@public
def openapi():
    """Serve the OpenAPI 3.1 document, in the caller's language."""
    return respond_document(build_spec(current_app))


@bp.get("/api/v1/docs")
@public
def docs():
    """Show the API's reference, rendered from the OpenAPI document on the server."""
    document = build_spec(current_app)
    return render_template("api/docs.html", spec=document, title=_("API reference"),
                           openapi_url=url_for("api.openapi"))
