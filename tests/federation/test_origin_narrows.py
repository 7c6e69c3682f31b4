"""A partner hub that stops addressing its note to the public (an Update to its followers, to this hub alone,
or without the Public collection) takes it from public view here: the note stays for our members, our members'
translations of it leave readers and review as when the origin deletes it, and their translators and our
moderators are told. Addressed to the public again, the note arrives again as a new one would."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from hub import worker
from hub.extensions import db
from hub.models.audit import AuditEntry
from hub.models.note import Note
from hub.services import notes
from tests.federation.fixtures import PUBLIC
from tests.federation.test_remote_original_translations import (TAKEN_TO, notifications_page, our_translation,
                                                                remote_original, stale_publish, told)
from tests.helpers import login

ADDRESSING = {"followers": lambda peer: {"to": [peer.base + "/followers"], "cc": []},
              "this hub alone": lambda peer: {"to": ["http://hub.test/actor"], "cc": []},
              "without the Public collection": lambda peer: {"to": [peer.base + "/followers"],
                                                             "cc": ["http://hub.test/actor"]}}


def update(app, client, peer, *, when: str, **addressing) -> None:
    """The origin sends an Update of its note 1 (same text) addressed as given, and our worker applies it."""
    article = peer.article(updated=when, **addressing)
    answer = peer.post(client, peer.activity("Update", article, **{k: article[k] for k in ("to", "cc")}))
    assert answer.status_code == 202
    worker.run_once(app)
    db.session.expire_all()


def narrow(app, client, peer, how: str = "followers") -> None:
    update(app, client, peer, when="2026-02-01T00:00:00Z", **ADDRESSING[how](peer))


def widen(app, client, peer) -> None:
    update(app, client, peer, when="2026-03-01T00:00:00Z", to=[PUBLIC], cc=[peer.base + "/followers"])


def page_for(app, user, note: Note) -> str:
    """The note's page as ``user`` (None: an anonymous visitor) gets it ("" when it is not there for them)."""
    browser = app.test_client()
    if user is not None:
        assert login(browser, user.username).status_code == 302
    answer = browser.get(f"/notes/{note.id}?lang=en", follow_redirects=True)
    return answer.get_data(as_text=True) if answer.status_code == 200 else ""


TOLD = {"en": ("no longer shares it with the public: here only members may read it now",
               "submit it again for members, and only they will read it"),
        "zh_Hans": ("不再向公众分享", "只有成员能读到")}
MEANWHILE = {"en": "the partner hub the original came from stopped sharing it with the public",
             "zh_Hans": "原文所在的合作平台不再向公众分享原文"}


@pytest.mark.parametrize("lang", ["en", "zh_Hans"])
@pytest.mark.parametrize("state", ["published", "submitted"])
@pytest.mark.parametrize("how", list(ADDRESSING))
def test_an_update_no_longer_public_takes_the_note_from_public_view_and_our_translation_with_it(
        app, client, make_peer, people, make_user, how, state, lang):
    peer = make_peer(trust="moderate")
    member = make_user("reader")
    translator, moderator = people["author"], people["moderator"]
    original = remote_original(app, client, peer, moderator)
    translation = our_translation(app, original, translator, moderator, state)
    narrow(app, client, peer, how)
    assert (original.state, original.visibility) == ("published", "partners")
    assert "We met people" not in page_for(app, None, original) and "We met people" in page_for(app, member, original)
    assert translation.state == TAKEN_TO[state] and "第一段" not in page_for(app, member, translation)
    [notice] = told(translator)
    assert notice.data == {"original": "narrowed_by_origin", "translation": state}
    page = notifications_page(app, translator, lang)
    assert all(sentence in page for sentence in TOLD[lang])
    entries = {e.action: e for e in db.session.scalars(sa.select(AuditEntry))}
    assert entries["translation.original_gone"].details["why"] == "narrowed_by_origin"
    assert (entries["note.narrowed_by_origin"].target_id, entries["note.narrowed_by_origin"].details) == \
        (original.id, {"old": "public", "new": "partners"})
    if state == "submitted":  # a review page opened before: its Publish is refused saying what happened
        assert MEANWHILE[lang] in stale_publish(app, moderator, translation, lang)
    narrow(app, client, peer, how)  # sent again: told once
    assert len(told(translator)) == 1


@pytest.mark.parametrize("trust", ["publish", "moderate"])
def test_an_update_public_again_arrives_as_a_new_note_would(app, client, make_peer, people, trust):
    peer = make_peer(trust=trust)
    moderator = people["moderator"]
    original = remote_original(app, client, peer, moderator)
    narrow(app, client, peer)
    widen(app, client, peer)
    assert original.visibility == "public"
    if trust == "moderate":  # as a new note from this hub: it waits for a moderator, readers keep nothing unread
        assert original.state == "submitted" and "We met people" not in page_for(app, people["author"], original)
        browser = app.test_client()
        assert login(browser, moderator.username).status_code == 302
        assert "Partner note 1" in browser.get("/moderation").get_data(as_text=True)
        notes.approve(original, by=moderator)
    assert original.state == "published" and "We met people" in page_for(app, None, original)
    assert {e.action for e in db.session.scalars(sa.select(AuditEntry))} >= {"note.narrowed_by_origin",
                                                                             "note.widened_by_origin"}


def test_what_a_moderator_narrowed_after_the_origin_stays_narrowed_when_the_origin_is_public_again(
        app, client, make_peer, people):
    peer = make_peer(trust="publish")
    original = remote_original(app, client, peer, people["moderator"])
    narrow(app, client, peer)
    notes.narrow_visibility(original, by=people["moderator"], visibility="members")
    widen(app, client, peer)
    assert (original.state, original.visibility) == ("published", "members")
    assert "We met people" not in page_for(app, None, original)


def test_the_partners_own_language_version_leaves_public_view_and_comes_back_with_its_note(
        app, client, make_peer, people):
    peer = make_peer(trust="publish")
    both = {"contentMap": {"en": "<p>We met people where they are.</p>", "zh-Hans": "<p>外展经验</p>"},
            "nameMap": {"en": "Partner note 1", "zh-Hans": "外展"}}
    peer.post(client, peer.activity("Create", peer.article(**both)))
    worker.run_once(app)
    original = db.session.scalar(sa.select(Note).where(Note.translation_of_id.is_(None)))
    [version] = original.translations
    for addressing, visibility in ((ADDRESSING["followers"](peer), "partners"),
                                   ({"to": [PUBLIC], "cc": [peer.base + "/followers"]}, "public")):
        when = "2026-02-01T00:00:00Z" if visibility == "partners" else "2026-03-01T00:00:00Z"
        update(app, client, peer, when=when, **both, **addressing)
        assert (original.visibility, version.visibility) == (visibility, visibility)
        assert (original.state, version.state) == ("published", "published")
        assert ("外展经验" in page_for(app, None, version)) == (visibility == "public")
