"""The API's resources: notes (list and detail), projects, topics and populations.

Every read asks :func:`blueprints.api.access.reader` who is asking and hands that to the catalogue,
which applies the one visibility rule. Answers carry ``ETag`` and come back 304 when the caller's
copy is current (:mod:`blueprints.api.http` says why there is no ``Last-Modified``).
"""
from __future__ import annotations

import datetime as dt

from flask import abort, request
from flask_babel import gettext as _
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
    links = {name: wire.public_url(f"api.{name}") for name in ("notes", "projects", "topics", "populations", "search",
                                                                "removed_notes")}
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
        updated_since=since)
    per_page = min(args["per_page"], schemas.LIST_PER_PAGE_MAX)
    cursor = _cursor(args, order=args["order"])
    page = catalogue.notes_after(reader(), filters=filters, order=args["order"], cursor=cursor, limit=per_page)
    return respond(schemas.NoteList(), _list(page, [wire.note_summary(n) for n in page.notes], args,
                                             per_page=per_page, since="updated_since"))


@bp.get("/api/v1/notes/removed")
@public
@operation(_l("Notes the caller could read and may no longer (ids and times only), for mirrors to drop"),
           response=schemas.RemovedList, query=schemas.RemovedQuery, problems=(400,))
def removed_notes():
    """List notes gone for the caller since a time, the longest gone first (cursor paging, stable order).

    Like OAI-PMH's deleted records and ActivityPub's Delete: a mirror learns which ids to drop, and
    nothing else of them (no title, text or author), however they went.
    """
    args = load_query(schemas.RemovedQuery())
    since = args.get("since")
    per_page = min(args["per_page"], schemas.LIST_PER_PAGE_MAX)
    page = catalogue.removed_after(reader(), since=since, cursor=_cursor(args, order=catalogue.REMOVED),
                                   limit=per_page)
    return respond(schemas.RemovedList(), _list(page, [wire.removed_note(n) for n in page.notes], args,
                                                per_page=per_page, since="since"))


def _cursor(args: dict, *, order: str) -> catalogue.Cursor | None:
    """Read the ``cursor`` parameter of a list in ``order``; a cursor this hub did not write is a 400."""
    try:
        return catalogue.Cursor.decode(args["cursor"], order=order) if args.get("cursor") else None
    except catalogue.BadCursor:
        fail(400, parameter_detail("cursor"), code="bad_cursor")


def _list(page: catalogue.NotePage, items: list, args: dict, *, per_page: int, since: str) -> dict:
    """Return a page of a list with the address of the next one (the same parameters, its cursor)."""
    following = None
    if page.next_cursor is not None:
        query = {k: v for k, v in args.items() if k not in ("cursor", since, "per_page")}
        if args.get(since) is not None:
            query[since] = args[since].replace(tzinfo=dt.timezone.utc).isoformat()  # read as naive UTC
        following = wire.public_url(request.endpoint, **query, per_page=per_page, cursor=page.next_cursor.encode())
    return {"items": items, "per_page": per_page,
            "next_cursor": page.next_cursor.encode() if page.next_cursor else None, "next": following,
            "limits": {"per_page_default": schemas.LIST_PER_PAGE_DEFAULT, "per_page_max": schemas.LIST_PER_PAGE_MAX}}


@bp.get("/api/v1/notes/<int:note_id>")
@public
@operation(_l("One published note with sections, topics, translations and attachments"),
           response=schemas.NoteDetail, problems=(404, 410))
def note(note_id: int):
    """Show a published note with its sections, topics, translations and attachments (410: gone for the caller)."""
    found = catalogue.note(reader(), note_id)
    if found is None:
        if catalogue.removed(reader(), note_id):
            # i18n: an API answer for a note the caller could read once and may no longer (deleted or taken down)
            fail(410, _("You could read this note before and may no longer: drop your copy of it."),
                 code="note_removed", title=_("This note was removed"))
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

