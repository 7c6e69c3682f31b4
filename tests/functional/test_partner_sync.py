"""Partners' systems that sync incrementally: they hear of every change made here, removals included.

A mirror reads ``/api/v1/notes?order=updated`` from the last change it saw (``updated_since``),
``/api/v1/notes/removed`` the same way, and feed readers poll ``/notes.atom``. A partner hub's
note approved here keeps its origin's time (``updated_at``); what was changed here is
``changed_at``, which those interfaces read.
"""
from __future__ import annotations

import datetime as dt
import json

import feedparser
import pytest
import sqlalchemy as sa

from hub.extensions import db
from hub.federation import inbox
from hub.models import Note
from hub.models.user import Role
from hub.services import api_tokens, notes
from tests.catalogue import person, publish
from tests.federation.fixtures import instance_key, make_peer  # noqa: F401  (fixtures)
from tests.forms import form_fields
from tests.helpers import login

ORIGIN_TIME = "2026-01-02T03:04:05Z"


def since(moment: dt.datetime) -> str:
    return moment.isoformat() + "Z"


def every_page(client, url: str, headers: dict) -> list[dict]:
    """Read a list page after page, following ``next``, as a mirror does; return every item."""
    items = []
    while url:
        answer = client.get(url, headers=headers)
        assert answer.status_code == 200, answer.get_data(as_text=True)
        items += answer.get_json()["items"]
        url = answer.get_json()["next"]
    return items


def changed_since(client, moment: dt.datetime, **headers) -> list[dict]:
    """Read the sync order from ``moment`` on."""
    return every_page(client, f"/api/v1/notes?order=updated&per_page=2&updated_since={since(moment)}", headers)


def removed_since(client, moment: dt.datetime | None = None, **headers) -> list[dict]:
    """Read the removed notes (from ``moment`` on)."""
    return every_page(client, "/api/v1/notes/removed?per_page=2" + (f"&since={since(moment)}" if moment else ""),
                      headers)


def feed_entries(client) -> list:
    answer = client.get("/notes.atom")
    assert answer.status_code == 200
    return feedparser.parse(answer.get_data()).entries


def approve_through_the_page(moderator_browser, note_id: int) -> None:
    page = moderator_browser.get(f"/moderation/notes/{note_id}").get_data(as_text=True)
    answer = moderator_browser.post(f"/moderation/notes/{note_id}/approve", data=dict(form_fields(page, "/approve")))
    assert answer.status_code == 302


def now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


def test_a_partner_hubs_note_approved_here_reaches_incremental_harvesters_each_time(app, client, make_peer):
    author, moderator = person("lee", role=Role.CONTRIBUTOR), person("moder", role=Role.MODERATOR)
    reviewer = app.test_client()
    assert login(reviewer, moderator.username).status_code == 302
    peer = make_peer(trust="moderate")
    article = peer.article(3, published=ORIGIN_TIME, updated=ORIGIN_TIME)
    peer.post(client, peer.activity("Create", article))
    inbox.process_pending(app)
    note_id = db.session.scalar(sa.select(Note.id).where(Note.remote_id == article["id"]))
    last_sync = now()
    assert changed_since(client, last_sync) == []

    approve_through_the_page(reviewer, note_id)

    items = changed_since(client, last_sync)
    assert [i["id"] for i in items] == [note_id]
    assert items[0]["updated_at"].startswith("2026-01-02T03:04:05")  # the origin's time stays what it is
    assert items[0]["changed_at"] >= since(last_sync)[:19]
    assert feed_entries(client)[0].link.endswith(f"/notes/{note_id}")

    # A local note published later; then the origin edits its note, which goes back to review here
    # (the hub moderates it), and a moderator approves it again after the partner's next sync.
    publish(author, moderator, "Later local note")
    edited = {**article, "name": "Partner note, corrected", "updated": "2026-02-01T00:00:00Z"}
    peer.post(client, peer.activity("Update", edited))
    inbox.process_pending(app)
    assert db.session.get(Note, note_id).state == "submitted"
    last_sync = now()
    assert changed_since(client, last_sync) == []
    assert [r["id"] for r in removed_since(client, last_sync)] == []  # went before this sync

    approve_through_the_page(reviewer, note_id)

    items = changed_since(client, last_sync)
    assert [(i["id"], i["title"]) for i in items] == [(note_id, "Partner note, corrected")]
    assert items[0]["updated_at"].startswith("2026-02-01T00:00:00")
    first = feed_entries(client)[0]
    assert first.link.endswith(f"/notes/{note_id}") and first.title == "Partner note, corrected"
    assert dt.datetime(*first.updated_parsed[:6]) >= last_sync.replace(microsecond=0)
    assert first.published_parsed <= first.updated_parsed


def test_removed_notes_name_ids_and_times_only_and_only_to_those_who_could_read_them(app, client, make_peer):
    author, moderator = person("lee", role=Role.CONTRIBUTOR), person("moder", role=Role.MODERATOR)
    member = person("mary")
    peer = make_peer(trust="publish")
    kept, unpublished, deleted, narrowed, withdrawn = (
        publish(author, moderator, f"公开笔记{n}", body=f"正文{n}，不外传。") for n in range(5))
    members_only = publish(author, moderator, "仅成员可见", visibility="members")
    partners = publish(author, moderator, "伙伴可见", visibility="partners")
    article = peer.article(9)
    peer.post(client, peer.activity("Create", article))
    inbox.process_pending(app)
    remote_id = db.session.scalar(sa.select(Note.id).where(Note.remote_id == article["id"]))
    assert removed_since(client) == []
    start = now()

    notes.unpublish(unpublished, by=moderator, reason="Personal data.")
    notes.delete(deleted, by=author)
    notes.narrow_visibility(narrowed, by=moderator, visibility="members")
    notes.withdraw(withdrawn, by=author)
    notes.delete(members_only, by=author)
    notes.unpublish(partners, by=moderator, reason="Wrong.")
    peer.post(client, peer.activity("Delete", {"id": article["id"], "type": "Tombstone", "formerType": "Article"}))
    inbox.process_pending(app)

    anonymous = removed_since(client, start)
    assert [r["id"] for r in anonymous] == [unpublished.id, deleted.id, narrowed.id, withdrawn.id, remote_id]
    assert all(set(r) == {"id", "removed_at"} and r["removed_at"] >= since(start)[:19] for r in anonymous)
    assert [r["removed_at"] for r in anonymous] == sorted(r["removed_at"] for r in anonymous)
    body = client.get("/api/v1/notes/removed").get_data(as_text=True)
    assert "笔记" not in body and "正文" not in body and "小李" not in body and "Partner" not in body
    assert removed_since(client, now()) == []
    # A member read the members and partners notes too; a partner hub's organisation token the partners note.
    _token, personal = api_tokens.create_personal(member, name="mirror", days=None)
    as_member = [r["id"] for r in removed_since(client, start, Authorization=f"Bearer {personal}")]
    assert as_member == [unpublished.id, deleted.id, withdrawn.id, members_only.id, partners.id, remote_id]
    _token, organisation = api_tokens.create_organisation(peer.row, name="mirror", days=None, by=person(
        "ada", role=Role.ADMIN))
    as_partner = [r["id"] for r in removed_since(client, start, Authorization=f"Bearer {organisation}")]
    assert as_partner == [unpublished.id, deleted.id, narrowed.id, withdrawn.id, partners.id, remote_id]
    # The note itself answers 410 Gone to whoever could read it, 404 to anyone else.
    gone = client.get(f"/api/v1/notes/{deleted.id}")
    assert gone.status_code == 410 and gone.get_json()["code"] == "note_removed"
    assert gone.mimetype == "application/problem+json" and "公开笔记" not in gone.get_data(as_text=True)
    assert client.get(f"/api/v1/notes/{members_only.id}").status_code == 404
    assert client.get(f"/api/v1/notes/{kept.id}").status_code == 200
    # Published again, a note is no longer removed: it is a change in the sync order instead.
    notes.submit(unpublished, by=author)
    notes.approve(unpublished, by=moderator)
    assert unpublished.id not in [r["id"] for r in removed_since(client, start)]
    assert [i["id"] for i in changed_since(client, start)] == [unpublished.id]


@pytest.mark.parametrize("lang, title", [("en", "This note was removed"), ("zh_Hans", "这篇笔记已被移除")])
def test_a_removed_notes_answer_is_in_the_callers_language(app, client, lang, title):
    author, moderator = person("lee", role=Role.CONTRIBUTOR), person("moder", role=Role.MODERATOR)
    note = publish(author, moderator, "Outreach")
    notes.delete(note, by=author)
    answer = client.get(f"/api/v1/notes/{note.id}?lang={lang}")
    assert answer.status_code == 410 and json.loads(answer.get_data())["title"] == title


def test_removed_notes_refuse_bad_parameters_with_a_problem(client):
    for query in ("since=yesterday", "cursor=xyz", "per_page=0"):
        answer = client.get(f"/api/v1/notes/removed?{query}")
        assert answer.status_code == 400 and answer.mimetype == "application/problem+json", query


@pytest.mark.parametrize("path", ["/api/v1/notes/removed?since=", "/api/v1/notes?order=updated&updated_since="])
@pytest.mark.parametrize(("moment", "kept"), [("0001-01-01T00:00:00+00:01", True), ("9999-12-31T23:59:59-00:01", False)])
def test_a_time_whose_offset_leaves_the_calendar_is_the_earliest_or_latest_time(client, path, moment, kept):
    from urllib.parse import quote

    answer = client.get(path + quote(moment))
    assert answer.status_code == 200 and answer.get_json()["items"] == []
