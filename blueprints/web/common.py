"""What the views of every face share: the signed-in person, a note by id, query-string numbers,
privacy findings grouped for a template and a moderator's checklist of them, absolute public URLs
and UTC times for machines."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import datetime as dt
import hashlib
import json

import sqlalchemy as sa
from flask import Response, abort, current_app, request, url_for
from flask_login import current_user

from hub.extensions import db
from hub.models import Note, NoteState
from hub.models.base import as_id
from hub.services import discussion, privacy, screening
from hub.services.visibility import gone_for, may_read

MAX_PAGE = 10_000


def me() -> Any:
    """Return the signed-in person itself (not Flask-Login's proxy), for the services."""
    return current_user._get_current_object()


def note_for(viewer: Any, note_id: int) -> Note:
    """Return the note if ``viewer`` may see it; 410 for a note deleted that ``viewer`` could read once, 404 otherwise.

    A draft deleted before anyone else read it answers as a note that never was: that it existed is its
    author's business (:func:`hub.services.visibility.gone_for`, the rule the API answers by too).
    """
    note = db.session.get(Note, note_id)
    if note is None:
        abort(404)
    if note.state == NoteState.DELETED:
        abort(410 if db.session.scalar(sa.select(Note.id).where(Note.id == note.id, gone_for(viewer))) else 404)
    if not may_read(note, viewer):  # the rule in memory: the row was just read
        abort(404)  # not 403: do not even confirm that a draft exists
    return note


def show_comment_text(form: Any, comment: Any) -> None:
    """Fill a form that edits a comment (its writer's, a moderator's redaction) with the comment's text as it is
    now, and name that version: the save is refused if the text changes meanwhile (it could undo a cut)."""
    form.body.data = comment.body
    form.version.data = discussion.text_version(comment)


def privacy_groups(fields: dict[str, str], findings: list) -> list[dict]:
    """Group findings by field, with highlight segments for the template (no HTML built here)."""
    groups = []
    for name, text in fields.items():
        mine = [f for f in findings if f.field == name]
        if mine:
            kinds = sorted({f.kind for f in mine})
            groups.append({"field": name, "kinds": kinds, "labels": [privacy.label(kind) for kind in kinds],
                           "segments": privacy.highlight(text, mine)})
    return groups


def masked_groups(fields: dict[str, str], findings: list) -> list[dict]:
    """Like :func:`privacy_groups`, each finding shown with its middle hidden: for lists that need to say
    what was found, never to show it whole (a report's explanation on the list of reports)."""
    groups = privacy_groups(fields, findings)
    for group in groups:
        text, position, segments = fields[group["field"]], 0, []
        for part, found in group["segments"]:
            end = position + len(part)
            if found:
                whole = [f for f in findings if f.field == group["field"] and (f.start, f.end) == (position, end)]
                part = whole[0].masked(text) if whole else "•••"
            segments.append((part, found))
            position = end
        group["segments"] = segments
    return groups


def finding_rows(fields: dict[str, str], findings: list) -> list[dict]:
    """List findings for a moderator's checklist: key, field, kind's name and masked value (never the value)."""
    return [{"key": screening.key(f), "field": f.field, "label": f.label, "masked": f.masked(fields[f.field])}
            for f in findings]


def finding_choices() -> tuple[set[str], set[str]]:
    """Read a posted checklist: the findings ticked as checked, and those to remove."""
    checked, redact = set(), set()
    for name, value in request.form.items():
        if name.startswith("finding:"):
            {"keep": checked, "redact": redact}.get(value, set()).add(name.removeprefix("finding:"))
    return checked, redact


def personal_data_download(data: dict, name: str) -> Response:
    """Answer with a person's data as a JSON file to save (never kept in any cache)."""
    body = json.dumps(data, ensure_ascii=False, indent=2)
    return Response(body, mimetype="application/json", headers={
        "Content-Disposition": f'attachment; filename="{name}.json"', "Cache-Control": "private, no-store"})


def conditional(response: Response) -> Response:
    """Give ``response`` an ETag (a hash of its body) and answer 304 when the caller already holds that body."""
    response.set_etag(hashlib.sha256(response.get_data()).hexdigest()[:32])
    return response.make_conditional(request)


def page_arg() -> int:
    """Return the ?page= number, between 1 and MAX_PAGE whatever was sent."""
    page = request.args.get("page", 1, type=int) or 1
    return min(max(page, 1), MAX_PAGE)


def id_arg(name: str) -> int | None:
    """Return a query-string id, or None when it is missing or could not be a row's id."""
    return as_id(request.args.get(name))


def public_url(endpoint: str, **values: Any) -> str:
    """Return the absolute URL of ``endpoint`` under the hub's public address (``BASE_URL``).

    Machines (the API, feeds, OAI-PMH) get the same URLs whichever host name or proxy they
    reached the hub through.
    """
    return str(current_app.config["BASE_URL"]).rstrip("/") + url_for(endpoint, **values)


_ID_MARK = "918273645546372819"  # stands for the id while a link's pattern is built: no route holds it


def public_id_urls(endpoint: str, name: str) -> Callable[[int], str]:
    """Return a function giving ``public_url(endpoint, **{name: id})`` for integer ids, from one link built now.

    Result lists link every hit twice: building each link through the URL map (and the request's
    context-local proxies) costs more than the rest of a hit.
    """
    prefix, mark, suffix = public_url(endpoint, **{name: int(_ID_MARK)}).partition(_ID_MARK)
    if not mark or _ID_MARK in suffix:  # not a plain pattern: build each link in full
        return lambda value: public_url(endpoint, **{name: value})
    return lambda value: f"{prefix}{int(value)}{suffix}"


def utc(moment: dt.datetime | None) -> dt.datetime | None:
    """Return a stored (naive UTC) time as an aware UTC time, so it goes out with its offset."""
    return moment.replace(tzinfo=dt.timezone.utc) if moment is not None else None

