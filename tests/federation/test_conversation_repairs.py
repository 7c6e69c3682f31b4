"""What the conversation across hubs owes partner hubs when comments leave, change or collide.

Each test plays the partner hubs with fake peers (tests/federation/fixtures.py) and reads what
this hub queued for them, as the worker's consumers leave it.
"""
from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from hub.extensions import db
from hub.federation import conversation, delivery, inbox, peers
from hub.federation.activities import InvalidActivity, parse_time
from hub.models.federation import Delivery
from hub.models import Comment, CommentThread, InboxItem
from hub.services import discussion, leaving, screening
from hub.services.errors import ServiceError
from tests.federation.test_conversation_inbox import _comment, _consume, _remote_note, _send_all, _sent
from tests.helpers import login, post_form


def _objects(kind: str, object_id: str, went: list[dict] | None = None) -> list[dict]:
    """Return the objects of the queued activities of ``kind`` about ``object_id`` (of ``went``, given)."""
    found = []
    for activity in _sent(kind) if went is None else [a for a in went if a["type"] == kind]:
        obj = activity["object"]
        if kind == "Announce" and obj.get("type") == "Delete":
            obj = obj["object"]
        if isinstance(obj, dict) and obj.get("id") == object_id:
            found.append(obj)
    return found


# --- a person leaves -----------------------------------------------------------------------------

def test_comments_that_go_with_an_account_are_deleted_on_every_hub_that_has_them(app, client, make_peer, publish,
                                                                                 people):
    ours = publish("public")
    reader = make_peer("reader.example", they_follow=True)
    origin = make_peer(trust="publish")
    theirs = _remote_note(app, client, origin)
    _consume(app)  # our note reaches the reader
    leaver = people["moderator"]
    on_ours = discussion.add_comment(ours, by=leaver, body="We tried it in Deyang.")
    on_theirs = discussion.add_comment(theirs, by=leaver, body="We tried it in Deyang too.")
    _consume(app)
    ids = {c: f"http://hub.test/ap/comments/{c.id}" for c in (on_ours, on_theirs)}
    assert _objects("Announce", ids[on_ours]) and _objects("Create", ids[on_theirs])
    leaving.delete_account(leaver, by=people["admin"], keep_published=False)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Comment)) == 0
    _consume(app)
    deletes = {a["object"]["id"]: a for a in _sent("Delete")}
    assert set(deletes) == set(ids.values())
    by_inbox = {d.activity["object"]["id"]: d.inbox_url for d in db.session.scalars(sa.select(Delivery))
                if d.activity["type"] == "Delete"}
    assert by_inbox == {ids[on_ours]: reader.base + "/inbox", ids[on_theirs]: origin.base + "/inbox"}


def test_comments_kept_after_their_writer_left_are_sent_again_without_the_pseudonym(app, client, make_peer, publish,
                                                                                   people):
    ours = publish("public")
    make_peer("reader.example", they_follow=True)
    origin = make_peer(trust="publish")
    theirs = _remote_note(app, client, origin)
    _consume(app)
    leaver = people["moderator"]
    on_ours = discussion.add_comment(ours, by=leaver, body="We tried it in Deyang.")
    on_theirs = discussion.add_comment(theirs, by=leaver, body="We tried it in Deyang too.")
    _consume(app)
    went = _send_all()  # sent: a version still waiting would be replaced by the newer one
    leaving.delete_account(leaver, by=people["admin"], keep_published=True)
    _consume(app)
    went += _send_all()
    first, again = _objects("Announce", f"http://hub.test/ap/comments/{on_ours.id}", went)
    assert first["peh:authorPseudonym"] == leaver.pseudonym and again["peh:authorPseudonym"] == ""
    assert parse_time(again["updated"]) > parse_time(first["updated"])  # partners keep the newest version
    [update] = _objects("Update", f"http://hub.test/ap/comments/{on_theirs.id}", went)
    assert update["peh:authorPseudonym"] == "" and update["content"] == on_theirs.body_html


def test_a_renamed_members_comments_reach_partner_hubs_with_the_new_pseudonym(app, client, make_peer, publish,
                                                                              people):
    ours = publish("public")
    make_peer("reader.example", they_follow=True)
    origin = make_peer(trust="publish")
    theirs = _remote_note(app, client, origin)
    _consume(app)
    writer = people["moderator"]
    on_ours = discussion.add_comment(ours, by=writer, body="We tried it in Deyang.")
    on_theirs = discussion.add_comment(theirs, by=writer, body="We tried it in Deyang too.")
    _consume(app)
    went = _send_all()  # sent: a version still waiting would be replaced by the newer one
    browser = app.test_client()
    login(browser, writer.username)
    post_form(browser, "/account", {"pseudonym": "山茶", "email": writer.email, "locale": "", "timezone": "",
                                    "bio": ""})
    _consume(app)
    went += _send_all()
    first, again = _objects("Announce", f"http://hub.test/ap/comments/{on_ours.id}", went)
    assert first["peh:authorPseudonym"] == "山风" and again["peh:authorPseudonym"] == "山茶"
    assert parse_time(again["updated"]) > parse_time(first["updated"])  # partners keep the newest version
    [update] = _objects("Update", f"http://hub.test/ap/comments/{on_theirs.id}", went)
    assert update["peh:authorPseudonym"] == "山茶"


# --- removals reach every hub that has the comment ------------------------------------------------

def test_a_moderators_removal_reaches_hubs_that_were_blocked_or_stopped_following(app, client, make_peer, publish,
                                                                                  people):
    note = publish("public")
    blocked = make_peer("blocked.example", they_follow=True)
    gone = make_peer("gone.example", they_follow=True)
    _consume(app)
    comment = discussion.add_comment(note, by=people["author"], body="We tried it in Deyang.")
    _consume(app)
    peers.block(blocked.row, by=people["admin"])
    gone.row.they_follow = False
    db.session.commit()
    discussion.remove_comment(comment, by=people["moderator"])
    _consume(app)
    object_id = f"http://hub.test/ap/comments/{comment.id}"
    sent = {d.inbox_url: d.state for d in db.session.scalars(sa.select(Delivery))
            if d.activity["type"] == "Delete" and d.activity["object"]["id"] == object_id}
    assert sent == {blocked.base + "/inbox": "pending", gone.base + "/inbox": "pending"}


# --- ids are never reused, and a known id never moves to another note ------------------------------

def test_a_new_comment_never_gets_the_id_of_a_deleted_one(app, publish, people):
    note = publish("public")
    newest = discussion.add_comment(note, by=people["moderator"], body="We tried it in Deyang.")
    gone_id = newest.id
    leaving.delete_account(people["moderator"], by=people["admin"], keep_published=False)
    assert discussion.add_comment(note, by=people["author"], body="We tried it in Leshan.").id > gone_id


def test_a_comment_id_known_under_one_note_is_refused_under_another(app, client, make_peer, publish, people):
    public, partners = publish("public"), publish("partners", title="给伙伴的笔记")
    peer = make_peer(trust="publish")
    assert peer.post(client, peer.activity("Create", _comment(peer, partners.id, content="<p>Partners only.</p>"))
                     ).status_code == 202
    inbox.process_pending(app)
    [comment] = db.session.scalars(sa.select(Comment))
    # The writer's hub gives the same id to a comment on another note (it reused a deleted row's id).
    again = peer.activity("Create", _comment(peer, public.id, content="<p>Something else.</p>",
                                             published="2026-02-01T00:00:00Z"))
    response = peer.post(client, again)
    assert response.status_code == 400 and response.get_json()["error"] == "comment_of_another_note"
    db.session.refresh(comment)
    assert comment.note_id == partners.id and comment.body == "Partners only."
    assert discussion.visible_comments(public) == []


def test_the_worker_never_moves_or_brings_back_a_comment_under_another_note(app, client, make_peer, publish, people):
    public, partners = publish("public"), publish("partners", title="给伙伴的笔记")
    peer = make_peer(trust="publish")
    peer.post(client, peer.activity("Create", _comment(peer, partners.id, content="<p>Partners only.</p>")))
    inbox.process_pending(app)
    [comment] = db.session.scalars(sa.select(Comment))
    peer.post(client, peer.activity("Delete", {"id": _comment(peer, partners.id)["id"], "type": "Tombstone"}))
    inbox.process_pending(app)
    db.session.refresh(comment)
    assert comment.removed_at is not None and db.session.get(CommentThread, comment.id).withdrawn
    # Checked again where it is stored (the door's check and the worker's may be apart in time).
    newer = _comment(peer, public.id, content="<p>Something else.</p>", updated="2026-02-01T00:00:00Z")
    with pytest.raises(InvalidActivity):
        conversation.store_comment(peer.row, newer, public, None)
    db.session.rollback()
    db.session.refresh(comment)
    assert comment.removed_at is not None and comment.note_id == partners.id


# --- a redaction on the note's origin reaches the hub that wrote the comment -------------------------

def test_a_redaction_when_releasing_a_partners_comment_goes_back_to_the_hub_that_wrote_it(app, client, make_peer,
                                                                                          publish, people):
    note = publish("public")
    writer = make_peer(trust="publish", they_follow=True)
    reader = make_peer("reader.example", they_follow=True)
    _consume(app)
    writer.post(client, writer.activity("Create", _comment(writer, note.id,
                                                           content="<p>Call Wang on 138 1234 5678 for kits.</p>")))
    inbox.process_pending(app)
    comment = db.session.scalar(sa.select(Comment))
    assert comment.state == "held"
    keys = [screening.key(finding) for finding in discussion.findings(comment)]
    discussion.release(comment, by=people["moderator"], redact=keys)
    _consume(app)
    sent = {d.inbox_url: d.activity["object"]["content"] for d in db.session.scalars(sa.select(Delivery))
            if d.activity["type"] == "Announce"}
    assert set(sent) == {writer.base + "/inbox", reader.base + "/inbox"}
    assert all("1234" not in content and "已删除个人信息" in content for content in sent.values())  # a zh_Hans note


def _relayed_back(origin, note, comment, content: str) -> dict:
    return {"id": f"http://hub.test/ap/comments/{comment.id}", "type": "Note", "attributedTo": "http://hub.test/actor",
            "inReplyTo": note.remote_id, "content": content, "peh:authorPseudonym": "小李",
            "published": "2026-01-02T03:04:05Z", "updated": "2030-01-01T00:00:00Z"}


def test_the_writers_hub_takes_the_origins_redaction_of_its_members_comment_but_no_other_change(
        app, client, make_peer, people):
    from hub.models import InboxItem, Notification

    origin = make_peer(trust="publish")
    note = _remote_note(app, client, origin)
    comment = discussion.add_comment(note, by=people["author"], confirm_privacy=True,
                                     body="We tried it. Call **Wang** on 138 1234 5678 for kits.")
    discussion.release(comment, by=people["moderator"], checked=[screening.key(f) for f in discussion.findings(comment)])
    rewritten = _relayed_back(origin, note, comment, "<p>We never tried it. Call Wang for kits.</p>")
    assert origin.post(client, origin.activity("Announce", rewritten)).status_code == 202
    inbox.process_pending(app)
    db.session.refresh(comment)
    assert "138 1234 5678" in comment.body  # a partner never puts other words in our member's mouth
    assert db.session.scalars(sa.select(InboxItem).order_by(InboxItem.id.desc())).first().state == "failed"
    redacted = _relayed_back(origin, note, comment,
                             "<p>We tried it. Call Wang on [personal data removed] for kits.</p>")
    assert origin.post(client, origin.activity("Announce", redacted)).status_code == 202
    inbox.process_pending(app)
    db.session.refresh(comment)
    assert comment.body == "We tried it. Call Wang on [personal data removed] for kits."
    assert "1234" not in client.get(f"/notes/{note.id}").get_data(as_text=True)
    assert db.session.scalar(sa.select(Notification).where(Notification.kind == "comment.redacted"))
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Comment)) == 1  # not stored as a partner's copy


# --- moderators read what they publish -----------------------------------------------------------------

def test_a_partners_comment_held_only_for_its_hubs_trust_shows_its_text_to_the_moderator(
        app, client, make_peer, publish, people, login_as):
    note = publish("public")
    peer = make_peer(trust="moderate")
    peer.post(client, peer.activity("Create", _comment(peer, note.id, content="<p>Buy kits at <em>Li's</em> "
                                                                              "&lt;b&gt;shop&lt;/b&gt;.</p>")))
    inbox.process_pending(app)
    assert db.session.scalar(sa.select(Comment)).state == "held"
    login_as(people["moderator"])
    page = client.get("/moderation/comments?lang=en").get_data(as_text=True)
    assert "Buy kits at Li&#39;s &lt;b&gt;shop&lt;/b&gt;." in page  # the text, escaped
    assert "Read it before you publish it" in page
    page = client.get("/moderation/comments?lang=zh_Hans").get_data(as_text=True)
    assert "Buy kits at Li&#39;s" in page and "发布前请先读一遍" in page


# --- blocking ends follows both ways, and says so ---------------------------------------------------------

def test_blocking_a_hub_tells_it_that_follows_ended_and_unblocking_says_how_to_follow_again(
        app, client, make_peer, people, login_as):
    from tests.helpers import post_form

    peer = make_peer(we_follow="accepted")
    peer.row.follow_activity_id = "http://hub.test/actor#follows/1"
    db.session.commit()
    follow = peer.activity("Follow", "http://hub.test/actor")
    assert peer.post(client, follow).status_code == 202
    inbox.process_pending(app)
    db.session.refresh(peer.row)
    assert peer.row.they_follow
    login_as(people["admin"])
    page = f"/admin/partners/{peer.row.id}"
    response = post_form(client, f"{page}/block", {}, form_url=page, follow_redirects=True)
    assert "it is told that the follows between the two hubs have ended" in response.get_data(as_text=True)
    goodbyes = {d.activity["type"]: d for d in db.session.scalars(sa.select(Delivery))}
    assert goodbyes["Reject"].activity["object"]["id"] == follow["id"]
    assert goodbyes["Undo"].activity["object"] == {"id": "http://hub.test/actor#follows/1", "type": "Follow",
                                                   "actor": "http://hub.test/actor", "object": peer.actor_id}
    assert goodbyes["Reject"].state == goodbyes["Undo"].state == "pending"
    due = [d.activity["type"] for batch in delivery.due_batches().values() for d in batch]
    assert sorted(due) == ["Reject", "Undo"]  # sent to the blocked hub, and nothing else
    db.session.refresh(peer.row)
    assert (peer.row.they_follow, peer.row.we_follow) == (False, "none")
    response = post_form(client, f"{page}/unblock", {}, form_url=page, follow_redirects=True,
                         headers={"Accept-Language": "en"})
    text = response.get_data(as_text=True)
    assert "The follows the block ended stay ended" in text and "press Follow" in text


def test_blocking_a_hub_ends_its_follows_of_our_topics_and_tells_it_from_each_topic(app, make_peer, people):
    from hub.federation import topics
    from hub.models import Term, TopicFollower

    peer = make_peer(they_follow=True)
    term = db.session.scalar(sa.select(Term).where(Term.kind == "topic").order_by(Term.id).limit(1))  # seeded
    follow = {"id": "http://hub.test/actor#follows/topic-1", "type": "Follow", "actor": peer.actor_id,
              "object": topics.actor_id(term.slug)}
    assert topics.on_follow(peer.row, follow)
    db.session.commit()
    peers.block(peer.row, by=people["admin"])
    assert db.session.scalar(sa.select(sa.func.count()).select_from(TopicFollower)) == 0
    rejects = [d.activity for d in db.session.scalars(sa.select(Delivery))
               if d.activity["type"] == "Reject" and d.activity["actor"] == topics.actor_id(term.slug)]
    assert [r["object"]["id"] for r in rejects] == [follow["id"]]
    due = [d.activity for batch in delivery.due_batches().values() for d in batch]
    assert rejects[0] in due  # it reaches the blocked hub: it only ends a follow
    peers.unblock(peer.row, by=people["admin"])
    assert db.session.scalar(sa.select(sa.func.count()).select_from(TopicFollower)) == 0  # not resumed


def test_a_blocked_hubs_comments_are_taken_down_and_come_back_when_it_is_unblocked(app, client, make_peer, publish,
                                                                                   people):
    note = publish("public")
    blocked = make_peer(trust="publish", they_follow=True)
    reader = make_peer("reader.example", they_follow=True)
    _consume(app)
    blocked.post(client, blocked.activity("Create", _comment(blocked, note.id, content="<p>Shown.</p>")))
    blocked.post(client, blocked.activity("Create", _comment(blocked, note.id, number=2,
                                                             content="<p>Call 138 1234 5678.</p>")))
    inbox.process_pending(app)
    _consume(app)
    _send_all()  # the shown comment reached the reader (one still waiting would just be dropped at the block)
    shown, held = db.session.scalars(sa.select(Comment).order_by(Comment.id)).all()
    assert held.state == "held" and discussion.visible_comments(note) == [shown]
    peers.block(blocked.row, by=people["admin"])
    _consume(app)
    assert discussion.visible_comments(note) == [] and discussion.held().items == []
    assert "Shown." not in client.get(f"/notes/{note.id}").get_data(as_text=True)
    with pytest.raises(ServiceError):
        discussion.release(held, by=people["moderator"], checked=[screening.key(f) for f in discussion.findings(held)])
    db.session.rollback()
    withdrawn = [d.inbox_url for d in db.session.scalars(sa.select(Delivery)) if d.activity["type"] == "Delete"]
    assert withdrawn == [reader.base + "/inbox"]  # the others drop it; its own hub is not told to remove its member's words
    peers.unblock(blocked.row, by=people["admin"])
    _consume(app)
    assert discussion.visible_comments(note) == [shown] and discussion.held().items == [held]
    announced = [d for d in db.session.scalars(sa.select(Delivery).order_by(Delivery.id)) if d.activity["type"] == "Announce"]
    assert len(announced) == 2 and announced[-1].inbox_url == reader.base + "/inbox"


# --- what fails is refused at the door when it can be, and otherwise seen ---------------------------------

@pytest.mark.parametrize("content", ["", "   ", [], ["<p>a list</p>"], {"en": "a map"}, None, "<script>x()</script>"])
def test_a_comment_with_nothing_to_read_is_refused_at_the_door(app, client, make_peer, publish, content):
    note = publish("public")
    peer = make_peer(trust="publish")
    response = peer.post(client, peer.activity("Create", _comment(peer, note.id, content=content)))
    assert response.status_code == 400 and response.get_json()["error"] == "empty_comment"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(InboxItem)) == 0


def test_an_incoming_activity_that_fails_in_the_worker_is_logged_without_content_and_listed_for_the_admin(
        app, client, make_peer, publish, people, login_as, caplog):
    from hub.services import notes

    note = publish("public")
    peer = make_peer(trust="publish")
    activity = peer.activity("Create", _comment(peer, note.id, content="<p>Secret words of Wang.</p>"))
    assert peer.post(client, activity).status_code == 202
    notes.delete(note, by=people["author"])  # gone before the worker reads the comment
    with caplog.at_level("WARNING", logger="hub.federation"):
        inbox.process_pending(app)
    [line] = [r.getMessage() for r in caplog.records if "failed" in r.getMessage()]
    assert activity["id"] in line and "not_a_reply_to_our_note" in line and "Wang" not in line
    login_as(people["admin"])
    for language, heading in (("en", "Incoming activities that failed"), ("zh_Hans", "处理失败的传入活动")):
        page = client.get(f"/admin/partners/{peer.row.id}?lang={language}").get_data(as_text=True)
        assert heading in page and activity["id"] in page and "not_a_reply_to_our_note" in page
        assert "Wang" not in page


# --- the door answers the same for what a partner may not know ----------------------------------------------

def test_a_reply_to_a_note_a_partner_may_not_read_is_answered_as_one_that_does_not_exist(app, client, make_peer,
                                                                                         publish, people):
    from hub.services import notes

    peer = make_peer()
    draft = notes.create_draft(author=people["author"], data=notes.NoteInput(
        title="草稿", summary="摘要。", body="正文。", language="zh_Hans", visibility="public"))
    submitted = notes.create_draft(author=people["author"], data=notes.NoteInput(
        title="待审", summary="摘要。", body="正文。", language="zh_Hans", visibility="public"))
    notes.submit(submitted, by=people["author"], confirm_privacy=True)
    members, deleted = publish("members"), publish("public", title="已删除")
    notes.delete(deleted, by=people["author"])
    answers = set()
    for note_id in (draft.id, submitted.id, members.id, deleted.id, 999_999):
        for kind in ("Create", "Announce"):
            response = peer.post(client, peer.activity(kind, _comment(peer, note_id)))
            assert response.status_code == 400
            answers.add(json.dumps(response.get_json(), sort_keys=True))
    assert len(answers) == 1, answers


def test_a_partner_may_neither_answer_nor_flag_a_comment_held_here(app, client, make_peer, publish, people):
    note = publish("public")
    held = discussion.add_comment(note, by=people["moderator"], body="Call Li Ming on 13912345678.",
                                  confirm_privacy=True)
    assert held.state == "held"
    peer = make_peer()
    ref = f"http://hub.test/ap/comments/{held.id}"
    reply = peer.post(client, peer.activity("Create", _comment(peer, note.id, inReplyTo=ref)))
    flag = peer.post(client, peer.activity("Flag", [f"http://hub.test/ap/notes/{note.id}", ref]))
    assert (reply.status_code, reply.get_json()["error"]) == (400, "not_a_reply_to_our_note")
    assert (flag.status_code, flag.get_json()["error"]) == (400, "not_our_note")
    discussion.release(held, by=people["moderator"], checked=[screening.key(f) for f in discussion.findings(held)])
    assert peer.post(client, peer.activity("Flag", [f"http://hub.test/ap/notes/{note.id}", ref])).status_code == 202


@pytest.mark.parametrize("name", ["管理员", "管理員", "Moderat0r", "ADMIN", "former member", "已离开的成员"])
def test_a_partners_pseudonym_that_passes_for_our_staff_or_a_former_member_is_not_shown(app, client, make_peer,
                                                                                        publish, name):
    note = publish("public")
    peer = make_peer(trust="publish")
    peer.post(client, peer.activity("Create", {**_comment(peer, note.id), "peh:authorPseudonym": name}))
    inbox.process_pending(app)
    assert db.session.scalar(sa.select(CommentThread)).author_pseudonym == ""


# --- moderators are told what happened, no more ---------------------------------------------------------------

def test_moderating_a_partners_note_and_comment_never_claims_someone_is_notified(app, client, make_peer, publish,
                                                                                 people, login_as):
    from tests.helpers import post_form

    peer = make_peer(trust="moderate")
    note = _remote_note(app, client, peer)
    assert note.state == "submitted"
    ours = publish("public")
    peer.post(client, peer.activity("Create", _comment(peer, ours.id)))
    inbox.process_pending(app)
    comment = db.session.scalar(sa.select(Comment))
    login_as(people["moderator"])
    queue = client.get("/moderation?lang=en").get_data(as_text=True)
    assert "From partner hub" in queue and " ·  · " not in queue  # no empty project between the dots
    response = post_form(client, f"/moderation/notes/{note.id}/approve", {"visibility": "public"},
                         form_url=f"/moderation/notes/{note.id}", follow_redirects=True)
    text = response.get_data(as_text=True)
    assert "Published." in text and "The author is notified" not in text
    response = post_form(client, f"/moderation/comments/{comment.id}/release", {}, form_url="/moderation/comments",
                         follow_redirects=True)
    text = response.get_data(as_text=True)
    assert "The comment is published." in text and "Its writer is notified" not in text
