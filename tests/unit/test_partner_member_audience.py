"""The partner-member audience (organisation tokens, feed addresses): one rule, in SQL and in memory."""
from __future__ import annotations

import datetime as dt
import itertools

import sqlalchemy as sa

from hub.extensions import db
from hub.models import Note, PeerHub
from hub.services.visibility import ANONYMOUS, PARTNER_MEMBER, Audience, may_read, visible_notes


def _notes() -> list[Note]:
    peer = PeerHub(actor_id="https://p.example/actor", base_url="https://p.example", partner=True)
    db.session.add(peer)
    db.session.flush()
    made = []
    for number, (state, visibility, remote) in enumerate(itertools.product(
            ("published", "draft", "unpublished", "deleted"), ("public", "partners", "members"), (False, True))):
        made.append(Note(state=state, visibility=visibility, title=f"{state} {visibility} {remote}",
                         origin_peer_id=peer.id if remote else None,
                         remote_id=f"https://p.example/ap/notes/{number}" if remote else None,
                         published_at=dt.datetime(2024, 1, 1)))
    db.session.add_all(made)
    db.session.commit()
    return made


def test_a_partner_member_reads_public_notes_and_partners_notes_written_here(app):
    _notes()
    seen = set(db.session.scalars(sa.select(Note.title).where(visible_notes(PARTNER_MEMBER))))
    assert seen == {"published public False", "published public True", "published partners False"}


def test_the_sql_rule_and_the_in_memory_rule_agree(app):
    notes = _notes()
    for audience in (PARTNER_MEMBER, ANONYMOUS, Audience.hub(None)):
        in_sql = set(db.session.scalars(sa.select(Note.id).where(visible_notes(audience))))
        assert in_sql == {n.id for n in notes if may_read(n, audience)}, audience


def test_search_keeps_to_public_notes_for_a_partner_member(app):
    assert PARTNER_MEMBER.public_only and ANONYMOUS.public_only
