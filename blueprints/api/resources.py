"""The API's resources: notes (list and detail), projects, topics and populations.

Every read asks :func:`blueprints.api.access.reader` who is asking and hands that to the catalogue,
which applies the one visibility rule. Answers carry ``ETag`` and come back 304 when the caller's
copy is current (:mod:`blueprints.api.http` says why there is no ``Last-Modified``).
"""
from __future__ import annotations

import datetime as dt

from flask import abort
from flask_babel import lazy_gettext as _l

from blueprints.api import schemas, wire
from blueprints.api.blueprint import bp
from blueprints.api.access import reader
from blueprints.api.openapi import operation
from blueprints.api.http import fail, load_query, parameter_detail, respond
from blueprints.web.access import public
from hub.services import catalogue


@bp.get("/api/v1/")
@public
@operation(_l("Where the API's resources are"), response=schemas.ApiIndex, tag="index")
def index():
    """List where the API's resources are."""
    links = {name: wire.public_url(f"api.{name}") for name in ("notes", "projects", "topics", "populations", "search")}
    links.update(openapi=wire.public_url("api.openapi"), docs=wire.public_url("api.docs"))
    return respond(schemas.ApiIndex(), links)


@bp.get("/api/v1/notes")
@public
@operation(_l("List published notes: filters, stable order, cursor paging"), response=schemas.NoteList,
           query=schemas.NoteListQuery, problems=(400,))
def notes():
    """List published notes, filtered, a page at a time (cursor paging, stable order)."""
    args = load_query(schemas.NoteListQuery())
    since = args.get("updated_since")
    filters = catalogue.NoteFilters(
        topic=args.get("topic"), project=args.get("project"), place=args.get("place"), language=args.get("language"),
        population=args.get("population"),
        updated_since=since.astimezone(dt.timezone.utc).replace(tzinfo=None) if since else None)
    per_page = min(args["per_page"], schemas.LIST_PER_PAGE_MAX)
    try:
        cursor = catalogue.Cursor.decode(args["cursor"], order=args["order"]) if args.get("cursor") else None
    except catalogue.BadCursor:
        fail(400, parameter_detail("cursor"), code="bad_cursor")
    page = catalogue.notes_after(reader(), filters=filters, order=args["order"], cursor=cursor, limit=per_page)
    following = None
    if page.next_cursor is not None:
        query = {k: v for k, v in args.items() if k not in ("cursor", "updated_since", "per_page")}
        if since is not None:
            query["updated_since"] = since.isoformat()
        following = wire.public_url("api.notes", **query, per_page=per_page, cursor=page.next_cursor.encode())
    payload = {"items": [wire.note_summary(n) for n in page.notes], "per_page": per_page,
               "next_cursor": page.next_cursor.encode() if page.next_cursor else None, "next": following,
               "limits": {"per_page_default": schemas.LIST_PER_PAGE_DEFAULT,
                          "per_page_max": schemas.LIST_PER_PAGE_MAX}}
    return respond(schemas.NoteList(), payload)


@bp.get("/api/v1/notes/<int:note_id>")
@public
@operation(_l("One published note with sections, topics, translations and attachments"),
           response=schemas.NoteDetail, problems=(404,))
def note(note_id: int):
    """Show a published note with its sections, topics, translations and attachments."""
    found = catalogue.note(reader(), note_id)
    if found is None:
        abort(404)
    translations = [] if found.translation_of_id else catalogue.translations_of(reader(), found)
    return respond(schemas.NoteDetail(), wire.note_detail(found, translations=translations))


@bp.get("/api/v1/projects")
@public
@operation(_l("Every project, in both languages"), response=schemas.ProjectList, tag="vocabulary")
def projects():
    """List every project, in both languages."""
    return respond(schemas.ProjectList(), {"items": [wire.project(p) for p in catalogue.projects()]})


@bp.get("/api/v1/topics")
@public
@operation(_l("The topics of the vocabulary, in both languages"), response=schemas.TermList, tag="vocabulary")
def topics():
    """List the topics of the vocabulary, in both languages."""
    return _terms("topic")


@bp.get("/api/v1/populations")
@public
@operation(_l("The populations of the vocabulary, in both languages"), response=schemas.TermList,
           tag="vocabulary")
def populations():
    """List the populations of the vocabulary, in both languages."""
    return _terms("population")


def _terms(kind: str):
    items = [wire.term(t) for t in catalogue.terms(kind)]
    return respond(schemas.TermList(), {"items": items})

