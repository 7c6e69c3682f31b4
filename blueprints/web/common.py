"""What the views of every face share: the signed-in person, a note by id, query-string numbers,
privacy findings grouped for a template."""
from __future__ import annotations

from typing import Any

from flask import abort, request
from flask_login import current_user

from hub.extensions import db
from hub.models import Note, NoteState
from hub.services import privacy
from hub.services.visibility import may_read

MAX_PAGE = 10_000
MAX_ID = 2**63 - 1  # the largest id any database column here holds


def me() -> Any:
    """Return the signed-in person itself (not Flask-Login's proxy), for the services."""
    return current_user._get_current_object()


def note_for(viewer: Any, note_id: int) -> Note:
    """Return the note if ``viewer`` may see it; 410 for a tombstone, 404 otherwise."""
    note = db.session.get(Note, note_id)
    if note is None:
        abort(404)
    if note.state == NoteState.DELETED:
        abort(410)
    if not may_read(note, viewer):  # the rule in memory: the row was just read
        abort(404)  # not 403: do not even confirm that a draft exists
    return note


def privacy_groups(fields: dict[str, str], findings: list) -> list[dict]:
    """Group findings by field, with highlight segments for the template (no HTML built here)."""
    groups = []
    for name, text in fields.items():
        mine = [f for f in findings if f.field == name]
        if mine:
            groups.append({"field": name, "kinds": sorted({f.kind for f in mine}),
                           "segments": privacy.highlight(text, mine)})
    return groups


def page_arg() -> int:
    """Return the ?page= number, between 1 and MAX_PAGE whatever was sent."""
    page = request.args.get("page", 1, type=int) or 1
    return min(max(page, 1), MAX_PAGE)


def id_arg(name: str) -> int | None:
    """Return a query-string id, or None when it is missing or could not be a row's id."""
    value = request.args.get(name, type=int)
    return value if value is not None and 0 < value <= MAX_ID else None
