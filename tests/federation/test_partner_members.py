"""A partner hub's members in the conversation here: never passing for ours, and what of their words a
moderator here may change (their hub takes cuts of personal data, nothing else).

Partner hubs are fake peers (tests/federation/fixtures.py) that post signed activities to the
inbox; what this hub sends them is read from the deliveries its consumers queue.
"""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from hub.extensions import db
from hub.federation import inbox
from hub.models import Comment, CommentThread
from hub.services import discussion
from tests.federation.test_conversation_inbox import _comment

CYRILLIC_E = "\u0435"  # е, drawn like the Latin e


def _comment_page(client, note_id: int, language: str) -> str:
    return client.get(f"/notes/{note_id}?lang={language}").get_data(as_text=True)


def _receive(app, client, peer, note, *, pseudonym: str, number: int = 1, content: str = "<p>We tried it.</p>"):
    activity = peer.activity("Create", {**_comment(peer, note.id, number=number, content=content),
                                        "peh:authorPseudonym": pseudonym})
    assert peer.post(client, activity).status_code == 202
    inbox.process_pending(app)


# --- a partner's member never passes for one of ours ------------------------------------------------------

@pytest.mark.parametrize("name", ["peer", "PEER", f"p{CYRILLIC_E}er", "\uff50\uff45\uff45\uff52"])  # ｐｅｅｒ
def test_a_partners_pseudonym_that_looks_like_one_of_our_members_is_not_shown(app, client, make_peer, make_user,
                                                                               publish, name):
    make_user("ourpeer", pseudonym="peer")
    note = publish("public")
    partner = make_peer("hub-b.example", trust="publish")
    _receive(app, client, partner, note, pseudonym=name)
    assert db.session.scalar(sa.select(CommentThread)).author_pseudonym == ""
    for language, someone, from_hub in (("en", "someone", "from partner hub"),
                                        ("zh_Hans", "某人", "来自合作平台")):
        page = _comment_page(client, note.id, language)
        assert f'<strong>{someone}</strong>' in page and from_hub in page
        assert f'<bdi class="user-text">{name}</bdi>' not in page


def test_a_partners_pseudonym_is_no_longer_shown_once_one_of_our_members_takes_a_look_alike(
        app, client, make_peer, make_user, publish, people, login_as):
    note = publish("public")
    partner = make_peer("hub-b.example", trust="moderate")
    _receive(app, client, partner, note, pseudonym="Lily")
    comment = db.session.scalar(sa.select(Comment))
    login_as(people["moderator"])
    assert '<bdi class="user-text">Lily</bdi>' in client.get("/moderation/comments?lang=en").get_data(as_text=True)
    discussion.release(comment, by=people["moderator"])
    assert '<bdi class="user-text">Lily</bdi>' in _comment_page(client, note.id, "en")
    make_user("lily", pseudonym="L\u0456ly")  # our new member, with a Cyrillic і
    for language, someone in (("en", "someone"), ("zh_Hans", "某人")):
        page = _comment_page(client, note.id, language)
        assert '<bdi class="user-text">Lily</bdi>' not in page and f"<strong>{someone}</strong>" in page
        redact = client.get(f"/moderation/comments/{comment.id}/redact?lang={language}").get_data(as_text=True)
        assert '<bdi class="user-text">Lily</bdi>' not in redact and someone in redact
