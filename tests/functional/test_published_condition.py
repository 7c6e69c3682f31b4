"""The condition "published, and for this reader" asks a note's state once (hub.services.visibility.published_for)."""
from __future__ import annotations

import re

import sqlalchemy as sa

from hub.extensions import db
from tests.functional.test_form_fuzz import published_note as published


def _statements_of(app, client, url: str) -> list[str]:
    """Return the SQL statements a request for ``url`` runs."""
    seen: list[str] = []

    def record(_conn, _cursor, statement, *_args) -> None:
        seen.append(statement)
    engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        assert client.get(url).status_code == 200
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)
    return seen


def test_the_notes_list_asks_each_notes_state_once(app, client, contributor, moderator):
    published(contributor, moderator, title="Outreach at night")
    listing = [s for s in _statements_of(app, client, "/notes") if re.search(r"\bFROM note\b", s)
               and "LIMIT" in s]
    assert listing, "the list page read no notes"
    for statement in listing:
        assert len(re.findall(r"\bnote\.state = ", statement)) == 1, statement
