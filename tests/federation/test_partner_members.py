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
from hub.models import Comment, CommentThread, Delivery
from hub.services import discussion, redaction, screening
from hub.text import html_text
from tests.federation.test_conversation_inbox import _comment, _consume
from tests.helpers import post_form

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


# --- a moderator's edit of a partner member's comment -------------------------------------------------------

WRITTEN = "We tried it. Call Wang on 138 1234 5678 for kits."


@pytest.fixture
def partner_comment(app, client, make_peer, publish, people, login_as):
    """A partner member's comment shown on our note, another partner that has the note, a moderator signed in."""
    note = publish("public")
    writer = make_peer("hub-b.example", trust="publish", they_follow=True)
    make_peer("reader.example", they_follow=True)
    _consume(app)
    _receive(app, client, writer, note, pseudonym="Lily", content=f"<p>{WRITTEN}</p>")
    comment = db.session.scalar(sa.select(Comment))
    assert comment.state == "held"  # the phone number
    discussion.release(comment, by=people["moderator"],
                       checked=[screening.key(finding) for finding in discussion.findings(comment)])
    _consume(app)
    db.session.execute(sa.delete(Delivery))
    db.session.commit()
    login_as(people["moderator"])
    return comment


def _redact(client, comment, body: str, language: str = "en") -> str:
    url = f"/moderation/comments/{comment.id}/redact?lang={language}"
    return post_form(client, url, {"body": body}, follow_redirects=True).get_data(as_text=True)


def _announced(app) -> dict[str, str]:
    """Return inbox -> the comment's text in the Announces queued since."""
    _consume(app)
    return {d.inbox_url: d.activity["object"]["content"] for d in db.session.scalars(sa.select(Delivery))
            if d.activity["type"] == "Announce"}


def test_the_moderator_is_told_before_saving_what_the_writers_hub_takes(client, partner_comment):
    # The marker is the one of the note's language (zh_Hans), which the deletions are marked with.
    for language, words in (("en", ("written on partner hub", "［已删除个人信息］", "keeps the original")),
                            ("zh_Hans", ("写于合作平台", "［已删除个人信息］", "保留原文"))):
        page = client.get(f"/moderation/comments/{partner_comment.id}/redact?lang={language}").get_data(as_text=True)
        assert 'id="writer-hub"' in page and all(word in page for word in words), (language, page)


def test_deleting_personal_data_from_a_partners_comment_reaches_its_hub_as_marked_cuts(app, client, partner_comment):
    page = _redact(client, partner_comment, "We tried it. Call Wang on  for kits.")
    assert "Each deletion is marked" in page
    sent = _announced(app)
    assert set(sent) == {"https://hub-b.example/inbox", "https://reader.example/inbox"}
    for content in sent.values():
        assert "1234" not in content and "已删除个人信息" in content  # a zh_Hans note: its marker
        assert redaction.only_cuts(WRITTEN, html_text(content))  # what hub-b checks


def test_rewording_a_partners_comment_stays_off_its_hub_and_the_moderator_is_told(app, client, partner_comment):
    page = _redact(client, partner_comment, "We tried it. Ask the outreach team for kits.")
    assert "Saved on this hub. The partner hub the comment was written on keeps its original" in page
    sent = _announced(app)
    assert set(sent) == {"https://reader.example/inbox"}  # no activity hub-b would refuse
    # Later cuts do not go to hub-b either: its text is no longer the one the change starts from.
    page = _redact(client, partner_comment, "We tried it. Ask the outreach team.", language="zh_Hans")
    assert "已保存在本平台" in page
    assert set(_announced(app)) == {"https://reader.example/inbox"}
    page = client.get(f"/moderation/comments/{partner_comment.id}/redact?lang=en").get_data(as_text=True)
    assert "Your change does not reach that hub" in page


# --- cut while held: the writer's hub hears at release ----------------------------------------------------

@pytest.fixture
def hub_b(make_peer):
    """The partner hub the comment is written on (a fake peer)."""
    return make_peer("hub-b.example", trust="publish", they_follow=True)


@pytest.fixture
def held_partner_comment(app, client, hub_b, make_peer, publish, people, login_as):
    """A partner member's comment held on our note (the phone number), another partner that has the note."""
    note = publish("public")
    writer = hub_b
    make_peer("reader.example", they_follow=True)
    _consume(app)
    _receive(app, client, writer, note, pseudonym="Lily", content=f"<p>{WRITTEN}</p>")
    comment = db.session.scalar(sa.select(Comment))
    assert comment.state == "held"
    _consume(app)
    db.session.execute(sa.delete(Delivery))
    db.session.commit()
    login_as(people["moderator"])
    return comment


def _release(client, comment, choices: dict[str, str] | None = None, language: str = "en") -> str:
    return post_form(client, f"/moderation/comments/{comment.id}/release?lang={language}", choices or {},
                     form_url="/moderation/comments", follow_redirects=True).get_data(as_text=True)


def _announces(app) -> dict[str, list[str]]:
    """Return inbox -> the comment texts of the Announces queued since, and forget every delivery."""
    _consume(app)
    sent: dict[str, list[str]] = {}
    for d in db.session.scalars(sa.select(Delivery).order_by(Delivery.id)):
        if d.activity["type"] == "Announce":
            sent.setdefault(d.inbox_url, []).append(d.activity["object"]["content"])
    db.session.execute(sa.delete(Delivery))
    db.session.commit()
    return sent


def test_cuts_made_while_a_partners_comment_is_held_reach_its_hub_once_at_release(app, client, held_partner_comment):
    comment = held_partner_comment
    _redact(client, comment, "We tried it. Call Wang on  for kits.")
    _redact(client, comment, "We tried it. Call  on ［已删除个人信息］ for kits.")  # a second cut, still held
    assert f'id="writer-hub-{comment.id}"' not in client.get("/moderation/comments").get_data(as_text=True)
    assert _announces(app) == {}  # held: no hub sees it yet
    db.session.refresh(comment)
    assert comment.state == "held" and discussion.findings(comment) == []
    page = _release(client, comment)
    assert "The comment is published" in page
    sent = _announces(app)
    assert set(sent) == {"https://hub-b.example/inbox", "https://reader.example/inbox"}
    for (content,) in sent.values():  # exactly once each
        assert "1234" not in content and "Wang" not in content and "已删除个人信息" in content
        assert redaction.only_cuts(WRITTEN, html_text(content))  # what hub-b checks


def test_a_release_that_cuts_findings_reaches_the_writers_hub_as_marked_cuts(app, client, held_partner_comment):
    comment = held_partner_comment
    choices = {f"finding:{screening.key(f)}": "redact" for f in discussion.findings(comment)}
    _release(client, comment, choices)
    (sent,) = _announces(app)["https://hub-b.example/inbox"]
    assert "1234" not in sent and redaction.only_cuts(WRITTEN, html_text(sent))


def test_a_release_that_cuts_a_reworded_partners_comment_tells_the_moderator_its_hub_keeps_the_original(
        app, client, held_partner_comment):
    comment = held_partner_comment
    _redact(client, comment, "We tried it. Ring Wang on 138 1234 5678 for kits.")  # more than cuts: stays here
    db.session.refresh(comment)
    choices = {f"finding:{screening.key(f)}": "redact" for f in discussion.findings(comment)}
    assert choices
    queue = client.get("/moderation/comments?lang=en").get_data(as_text=True)
    assert f'id="writer-hub-{comment.id}"' in queue and "Your change does not reach that hub" in queue
    page = _release(client, comment, choices, language="zh_Hans")
    assert "已保存在本平台" in page
    sent = _announces(app)
    assert set(sent) == {"https://reader.example/inbox"}  # no activity hub-b would refuse
    assert "1234" not in sent["https://reader.example/inbox"][0]


def test_a_newer_version_from_the_writers_hub_replaces_a_cut_made_while_held(app, client, hub_b,
                                                                            held_partner_comment):
    comment, writer = held_partner_comment, hub_b
    _redact(client, comment, "We tried it. Call Wang on  for kits.")
    newer = f"<p>{WRITTEN} Or mail lily@hub-b.example.</p>"
    assert writer.post(client, writer.activity("Update", {
        **_comment(writer, comment.note_id, content=newer), "updated": "2026-02-01T00:00:00Z"})).status_code == 202
    inbox.process_pending(app)
    db.session.refresh(comment)
    choices = {f"finding:{screening.key(f)}": "keep" for f in discussion.findings(comment)}
    _release(client, comment, choices)
    sent = _announces(app)
    assert set(sent) == {"https://reader.example/inbox"}  # hub-b has this text: nothing was cut out of it here


@pytest.mark.parametrize("language, told", [
    ("en", ("still waits for a moderator", "stays on this hub until the comment is released")),
    ("zh_Hans", ("仍在等待版主审核", "评论发布后才会送到"))])
def test_cutting_a_held_partners_comment_says_the_cut_waits_for_its_release(app, client, held_partner_comment,
                                                                           language, told):
    comment = held_partner_comment
    page = client.get(f"/moderation/comments/{comment.id}/redact?lang={language}").get_data(as_text=True)
    assert 'id="held-cut"' in page and "hub-b.example" in page.split('id="held-cut"')[1].split("</p>")[0]
    page = _redact(client, comment, "We tried it. Call Wang on  for kits.", language=language)
    assert all(words in page for words in told), page
    assert _announces(app) == {}  # true to the words: nothing left this hub
    _release(client, comment)
    assert "https://hub-b.example/inbox" in _announces(app)  # and at release the writer's hub hears


def test_a_published_partners_comment_cut_says_nothing_of_a_release(app, client, partner_comment):
    page = _redact(client, partner_comment, "We tried it. Call Wang on  for kits.")
    assert "Each deletion is marked" in page and "released" not in page


def test_redacting_our_note_cuts_a_held_partners_comment_and_its_hub_hears_at_release(
        app, client, make_peer, publish, people, login_as):
    writer = make_peer("hub-b.example", trust="publish", they_follow=True)
    note = publish("public", body="我们在社区开展外展。请找 Wang。")
    _consume(app)
    _receive(app, client, writer, note, pseudonym="Lily", content=f"<p>{WRITTEN}</p>")
    comment = db.session.scalar(sa.select(Comment))
    assert comment.state == "held"  # the phone number
    _announces(app)
    login_as(people["moderator"])
    page = post_form(client, f"/moderation/notes/{note.id}/redact?lang=en",
                     {"title": note.title, "summary": note.summary, "body": "我们在社区开展外展。请找 ［已删除个人信息］。",
                      "reason": ""}, follow_redirects=True).get_data(as_text=True)
    assert "Also removed from 1 comment that quoted it." in page
    db.session.refresh(comment)
    assert comment.state == "held" and "Wang" not in comment.body
    assert "https://hub-b.example/inbox" not in _announces(app)  # held: nothing goes before release
    _release(client, comment, {f"finding:{screening.key(f)}": "keep" for f in discussion.findings(comment)})
    (sent,) = _announces(app)["https://hub-b.example/inbox"]
    assert "Wang" not in sent and redaction.only_cuts(WRITTEN, html_text(sent))  # what hub-b checks and takes
