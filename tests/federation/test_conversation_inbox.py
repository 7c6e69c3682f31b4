"""The conversation's activities at one hub: what the inbox takes, refuses (with a reason), stores and sends."""
from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from hub import worker
from hub.extensions import db
from hub.federation import activities, conversation, delivery, inbox
from hub.models.events import Event
from hub.models.federation import Delivery, InboxItem, PeerHub
from hub.models import Comment, CommentState, CommentThread, Flag, FlagOrigin, Note, RemoteMark
from hub.services import discussion, notes, screening
from hub.text import html_text
from tests.helpers import count

OURS = "http://hub.test/ap/notes/{}"


def _rows():
    return count(InboxItem), count(PeerHub), count(Note), count(Event), count(Comment), count(Flag), count(RemoteMark)


def _comment(peer, note_id, *, number=1, content="<p>We tried it <strong>too</strong>.<script>x()</script></p>", **extra):
    return {"id": f"{peer.base}/ap/comments/{number}", "type": "Note", "attributedTo": peer.actor_id,
            "inReplyTo": OURS.format(note_id), "content": content, "peh:authorPseudonym": "Partner P",
            "published": "2026-01-02T03:04:05Z", **extra}


def _consume(app) -> None:
    from hub import events

    for consumer in (delivery.FederationConsumer(), conversation.ConversationConsumer()):
        batch = events.after(consumer.position())
        if batch:
            consumer.apply(batch)


# --- taken ------------------------------------------------------------------------------------

def test_a_comment_on_our_note_is_sanitised_and_waits_for_a_moderator(app, client, make_peer, publish, people):
    note = publish("public")
    peer = make_peer(trust="moderate")
    assert peer.post(client, peer.activity("Create", _comment(peer, note.id))).status_code == 202
    inbox.process_pending(app)
    comment = db.session.scalar(sa.select(Comment))
    thread = db.session.get(CommentThread, comment.id)
    assert comment.author_id is None and comment.body_html == "<p>We tried it <strong>too</strong>.</p>"
    assert comment.state == "held" and thread.author_pseudonym == "Partner P" and thread.peer_id == peer.row.id
    assert comment not in discussion.visible_comments(note)
    assert [c.id for c in discussion.held().items] == [comment.id]
    discussion.release(comment, by=people["moderator"])
    assert comment in discussion.visible_comments(note)


def test_partners_comments_keep_their_time_and_replies_follow_what_they_answer(app, client, make_peer, publish,
                                                                                people):
    note = publish("public")
    peer = make_peer(trust="publish")
    peer.post(client, peer.activity("Create", _comment(peer, note.id, content="<p>First.</p>")))
    inbox.process_pending(app)
    ours = discussion.add_comment(note, by=people["moderator"], body="Ours, later.")
    first = db.session.scalar(sa.select(CommentThread).where(CommentThread.remote_id == f"{peer.base}/ap/comments/1"))
    reply = _comment(peer, note.id, number=2, content="<p>A reply to the first.</p>",
                     inReplyTo=f"{peer.base}/ap/comments/1", published="2026-01-05T06:07:08Z")
    peer.post(client, peer.activity("Create", reply))
    inbox.process_pending(app)
    shown = discussion.visible_comments(note)
    assert [c.body for c in shown] == ["First.", "A reply to the first.", "Ours, later."]
    assert shown[0].id == first.comment_id and shown[2].id == ours.id
    assert [c.created_at.isoformat() for c in shown[:2]] == ["2026-01-02T03:04:05", "2026-01-05T06:07:08"]
    page = client.get(f"/notes/{note.id}?lang=en").get_data(as_text=True)
    assert page.index("A reply to the first.") < page.index("Ours, later.")


def test_a_trusted_hubs_comment_is_shown_and_relayed_to_the_other_hubs(app, client, make_peer, publish):
    note = publish("public")
    writer = make_peer(trust="publish", they_follow=True)
    other = make_peer("other.example", they_follow=True)
    _consume(app)  # the note goes to both
    writer.post(client, writer.activity("Create", _comment(writer, note.id)))
    inbox.process_pending(app)
    _consume(app)
    [announce] = [d for d in db.session.scalars(sa.select(Delivery)) if d.activity["type"] == "Announce"]
    assert announce.inbox_url == other.base + "/inbox"  # not back to the hub that wrote it
    assert announce.activity["object"]["id"] == f"{writer.base}/ap/comments/1"
    assert announce.activity["object"]["attributedTo"] == writer.actor_id
    assert announce.activity["actor"] == "http://hub.test/actor" and announce.activity["id"].startswith("http://hub.test/")


def test_a_partners_edit_of_its_comment_is_relayed_older_ones_are_ignored_and_personal_data_waits_again(
        app, client, make_peer, publish):
    note = publish("public")
    writer = make_peer(trust="publish", they_follow=True)
    other = make_peer("other.example", they_follow=True)
    _consume(app)
    writer.post(client, writer.activity("Create", _comment(writer, note.id)))
    inbox.process_pending(app)
    _consume(app)
    comment = db.session.scalar(sa.select(Comment))
    assert comment in discussion.visible_comments(note)

    def edit(content, updated):
        response = writer.post(client, writer.activity("Update", _comment(writer, note.id, content=content,
                                                                          updated=updated)))
        assert response.status_code == 202, response.get_json()
        inbox.process_pending(app)
        _consume(app)
        db.session.refresh(comment)

    went = _send_all()
    edit("<p>We tried it twice.</p>", "2026-01-03T00:00:00Z")
    assert comment.body == "We tried it twice." and comment in discussion.visible_comments(note)
    relayed = [a["object"] for a in went + _send_all() if a["type"] == "Announce"]
    assert [o["content"] for o in relayed] == ["<p>We tried it <strong>too</strong>.</p>", "<p>We tried it twice.</p>"]
    edit("<p>An older version.</p>", "2026-01-02T12:00:00Z")  # arrives late: the newer text stays
    assert comment.body == "We tried it twice."
    edit("<p>Call Wang on 138 1234 5678 for the kits.</p>", "2026-01-04T00:00:00Z")
    assert comment.state == "held" and comment not in discussion.visible_comments(note)
    [withdrawn] = [d for d in db.session.scalars(sa.select(Delivery)) if d.activity["type"] == "Delete"]
    assert withdrawn.inbox_url == other.base + "/inbox"  # the other hub's copy goes while a moderator looks
    assert withdrawn.activity["object"]["id"] == f"{writer.base}/ap/comments/1"
    before = _rows()  # another hub may not edit the writer's comment
    response = other.post(client, other.activity("Update", {**_comment(writer, note.id), "updated": "2026-02-01T00:00:00Z",
                                                            "attributedTo": other.actor_id}))
    assert response.status_code == 400 and response.get_json()["error"] == "origin_mismatch"
    assert _rows() == before and comment.body.startswith("Call Wang")


def test_likes_count_once_per_hub_and_undo_withdraws(app, client, make_peer, publish):
    note = publish("public")
    peer = make_peer()
    first = peer.activity("Like", OURS.format(note.id), **{"peh:kind": "tried"})
    peer.post(client, first)
    peer.post(client, peer.activity("Like", OURS.format(note.id), **{"peh:kind": "tried"}))
    inbox.process_pending(app)
    assert activities.mark_totals(note) == {"tried": 1, "useful": 0}
    peer.post(client, peer.activity("Undo", first))
    inbox.process_pending(app)
    assert activities.mark_totals(note) == {"tried": 0, "useful": 0}


def test_the_origins_note_page_counts_its_members_and_each_partner_hub_once(app, client, make_peer, publish, people):
    note = publish("public")
    notes.toggle_mark(note, by=people["moderator"], kind="tried")
    for host in ("b.example", "c.example"):
        peer = make_peer(host)
        for _member in range(2):  # two members of the hub: one Like
            peer.post(client, peer.activity("Like", OURS.format(note.id), **{"peh:kind": "tried"}))
    inbox.process_pending(app)
    assert activities.mark_totals(note) == {"tried": 3, "useful": 0}  # what the Article tells every hub
    page = client.get(f"/notes/{note.id}?lang=en").get_data(as_text=True)
    assert "We tried this too · 3" in page and "Useful · 0" in page
    assert "We tried this too: 2 of them from partner hubs (each hub counts once)" in page
    assert "Useful:" not in page
    page = client.get(f"/notes/{note.id}?lang=zh_Hans").get_data(as_text=True)
    assert "其中 2 个来自合作平台（每个平台只计一次）" in page


def test_a_flag_is_queued_under_the_hubs_name_only(app, client, make_peer, publish):
    note = publish("public")
    peer = make_peer()
    peer.post(client, peer.activity("Flag", [OURS.format(note.id)], **{"peh:reason": "spam"}))
    inbox.process_pending(app)
    flag = db.session.scalar(sa.select(Flag))
    assert (flag.note_id, flag.reporter_id, flag.reason) == (note.id, None, "spam")
    assert db.session.get(FlagOrigin, flag.id).peer_id == peer.row.id


# --- refused at the door, with a reason and no write --------------------------------------------

@pytest.mark.parametrize("make, reason", [
    (lambda p, n: p.activity("Create", {**_comment(p, n), "inReplyTo": "https://elsewhere.example/notes/1"}),
     "not_a_reply_to_our_note"),
    (lambda p, n: p.activity("Create", {**_comment(p, n), "id": "https://elsewhere.example/c/1"}), "origin_mismatch"),
    (lambda p, n: p.activity("Like", "https://elsewhere.example/notes/1"), "not_our_note"),
    (lambda p, n: p.activity("Like", OURS.format(n), **{"peh:kind": "love"}), "unsupported_kind"),
    (lambda p, n: p.activity("Announce", _comment(p, n)), "not_the_origin"),
    (lambda p, n: p.activity("Flag", ["https://elsewhere.example/notes/1"]), "not_our_note"),
    (lambda p, n: p.activity("Offer", {"id": p.base + "/ap/notes/9", "type": "Article", "content": "x",
                                       "contentMap": {"zh-Hans": "x"}}, target=OURS.format(n)), "unsupported_language"),
    (lambda p, n: p.activity("Follow", "http://hub.test/users/someone"), "unknown_actor"),
])
def test_what_is_not_part_of_our_conversation_is_refused(app, client, make_peer, publish, make, reason):
    note = publish("public", language="zh_Hans")
    peer = make_peer()
    before = _rows()
    response = peer.post(client, make(peer, note.id))
    assert response.status_code == 400 and response.get_json()["error"] == reason, response.get_json()
    assert _rows() == before


def test_a_hub_off_the_allow_list_may_not_comment_on_a_partners_note(app, client, make_peer, publish):
    app.config["FEDERATION_MODE"] = "open"
    note = publish("partners")
    stranger = make_peer("stranger.example", partner=False)
    before = _rows()
    response = stranger.post(client, stranger.activity("Create", _comment(stranger, note.id)))
    assert response.status_code == 400 and response.get_json()["error"] == "not_a_reply_to_our_note"
    assert _rows() == before


# --- sent ---------------------------------------------------------------------------------------

def _remote_note(app, client, peer) -> Note:
    peer.post(client, peer.activity("Create", peer.article()))
    inbox.process_pending(app)
    return db.session.scalar(sa.select(Note).where(Note.origin_peer_id == peer.row.id))


def _sent(kind: str) -> list[dict]:
    return [d.activity for d in db.session.scalars(sa.select(Delivery)) if d.activity["type"] == kind]


def _send_all() -> list[dict]:
    """Take every queued delivery as sent, as the sender does; return the activities as they went out.

    A version still waiting is replaced by a newer one (hub.federation.delivery.supersede): to see
    what a partner gets of an edit of something it has, what it has must have gone first.
    """
    went = []
    for row in db.session.scalars(sa.select(Delivery).where(Delivery.state == "pending").order_by(Delivery.id)):
        went.append(row.activity)
        row.state, row.activity = "sent", activities.object_named_only(row.activity)
    db.session.commit()
    return went


def test_comments_marks_and_flags_on_a_partners_note_go_to_its_origin(app, client, make_peer, people):
    peer = make_peer(trust="publish")
    note = _remote_note(app, client, peer)
    author, moderator = people["author"], people["moderator"]
    comment = discussion.add_comment(note, by=author, body="We did this **too**.")
    notes.toggle_mark(note, by=author, kind="useful")
    notes.toggle_mark(note, by=moderator, kind="useful")  # a second member: still one Like
    notes.flag(note, by=moderator, reason="wrong", detail="I am 山风 and this is my phone 13812345678",
               confirm_privacy=True)
    _consume(app)
    [create] = _sent("Create")
    assert create["object"]["inReplyTo"] == note.remote_id and create["object"]["attributedTo"] == "http://hub.test/actor"
    assert create["object"]["peh:authorPseudonym"] == author.pseudonym
    assert create["object"]["id"] == f"http://hub.test/ap/comments/{comment.id}"
    [like] = _sent("Like")
    assert like["object"] == note.remote_id and like["peh:kind"] == "useful"
    [flag] = _sent("Flag")
    raw = json.dumps(flag, ensure_ascii=False)
    assert flag["object"] == [note.remote_id] and flag["peh:reason"] == "wrong" and flag["actor"] == "http://hub.test/actor"
    assert [s for s in (moderator.username, moderator.pseudonym, "13812345678", "/users/") if s in raw] == []
    for user in (author, moderator):
        notes.toggle_mark(note, by=user, kind="useful")
    _consume(app)
    [undo] = _sent("Undo")
    assert undo["object"]["id"] == like["id"]
    assert {d.inbox_url for d in db.session.scalars(sa.select(Delivery))} == {peer.base + "/inbox"}


def _sent_comments_on_both(app, client, make_peer, publish, people, body: str):
    """Comment ``body`` as our author on a partner's note and on ours (which a reader hub has), and send both.

    Return the reader hub, the two comments and the activities that went out.
    """
    author = people["author"]
    theirs = _remote_note(app, client, make_peer(trust="publish"))
    ours = publish("public")
    reader = make_peer("reader.example", they_follow=True)
    _consume(app)
    on_theirs = discussion.add_comment(theirs, by=author, body=body)
    on_ours = discussion.add_comment(ours, by=author, body=body)
    _consume(app)
    return reader, on_theirs, on_ours, _send_all()


def test_a_moderators_redaction_travels_as_a_newer_version_both_ways(app, client, make_peer, publish, people):
    """A partner keeps the newest version of a comment it holds: a redaction must say it is newer."""
    moderator = people["moderator"]
    reader, on_theirs, on_ours, went = _sent_comments_on_both(app, client, make_peer, publish, people,
                                                              "Ask Wang Fang at the clinic.")
    for comment in (on_theirs, on_ours):
        discussion.redact(comment, by=moderator, body="Ask the clinic.")
    _consume(app)
    went += _send_all()

    def versions(kind: str, comment) -> list[tuple[str, str]]:
        return [(activities.parse_time(a["object"]["updated"]), a["object"]["content"]) for a in went
                if a["type"] == kind and a["object"].get("id") == f"http://hub.test/ap/comments/{comment.id}"]
    [(created, first)] = versions("Create", on_theirs)
    [(updated, redacted)] = versions("Update", on_theirs)  # to the note's origin
    assert updated > created and "Wang" in first and "Wang" not in redacted
    [(shown, first), (updated, redacted)] = versions("Announce", on_ours)  # to the hubs that have our note
    assert updated > shown and "Wang" in first and "Wang" not in redacted
    assert {d.inbox_url for d in db.session.scalars(sa.select(Delivery)) if d.activity["type"] == "Announce"} == {
        reader.base + "/inbox"}


def test_a_comment_object_is_readable_where_its_note_is(app, client, publish, people):
    note = publish("public")
    comment = discussion.add_comment(note, by=people["moderator"], body="Useful, thank you.")
    document = client.get(f"/ap/comments/{comment.id}", base_url="http://hub.test").get_json()
    assert document["type"] == "Note" and document["inReplyTo"] == OURS.format(note.id)
    members = publish("members")
    hidden = discussion.add_comment(members, by=people["moderator"], body="Members only.")
    assert client.get(f"/ap/comments/{hidden.id}", base_url="http://hub.test").status_code == 404
    held = discussion.add_comment(note, by=people["moderator"], body="Call Li Ming on 13912345678.", confirm_privacy=True)
    assert held.state == CommentState.HELD
    assert client.get(f"/ap/comments/{held.id}", base_url="http://hub.test").status_code == 404


def test_a_comment_the_origin_withdrew_comes_back_with_a_newer_version_but_not_one_our_moderators_removed(
        app, client, make_peer, people):
    origin = make_peer(trust="publish")
    note = _remote_note(app, client, origin)
    writer = "https://writer.example/ap/comments/{}"

    def relay(number, updated, content="<p>We tried it too.</p>"):
        obj = {"id": writer.format(number), "type": "Note", "attributedTo": "https://writer.example/actor",
               "inReplyTo": note.remote_id, "content": content, "peh:authorPseudonym": "Partner P",
               "published": "2026-01-02T03:04:05Z", "updated": updated}
        assert origin.post(client, origin.activity("Announce", obj)).status_code == 202
        inbox.process_pending(app)

    def comment(number):
        thread = db.session.scalar(sa.select(CommentThread).where(CommentThread.remote_id == writer.format(number)))
        db.session.refresh(thread.comment)
        return thread.comment

    relay(1, "2026-01-02T03:04:05Z")
    relay(2, "2026-01-02T03:04:05Z")
    assert discussion.visible_comments(note) == [comment(1), comment(2)]
    # The origin withdraws the first while its moderators look at an edit, then shows the edit.
    tombstone = {"id": writer.format(1), "type": "Tombstone", "formerType": "Note"}
    assert origin.post(client, origin.activity("Delete", tombstone)).status_code == 202
    inbox.process_pending(app)
    assert discussion.visible_comments(note) == [comment(2)]
    relay(1, "2026-01-03T00:00:00Z", content="<p>We tried it too, twice.</p>")
    assert discussion.visible_comments(note) == [comment(1), comment(2)] and comment(1).body == "We tried it too, twice."
    # What our moderators removed stays removed, whatever the origin sends later.
    discussion.remove_comment(comment(2), by=people["moderator"])
    relay(2, "2026-01-04T00:00:00Z", content="<p>Changed.</p>")
    assert comment(2).removed_at is not None and comment(2).body == "We tried it too."
    assert discussion.visible_comments(note) == [comment(1)]


def test_our_translation_of_a_partners_note_is_offered_to_its_origin(app, client, make_peer, people):
    from hub.services import translations

    peer = make_peer(trust="publish")
    note = _remote_note(app, client, peer)
    draft = translations.start(note, by=people["author"], language="zh_Hans")
    data = notes.input_of(draft)
    data.title, data.summary, data.body = "伙伴笔记", "摘要。", "我们去找人。"
    notes.save(draft, by=people["author"], data=data)
    notes.submit(draft, by=people["author"], confirm_privacy=True)
    notes.approve(draft, by=people["moderator"])
    _consume(app)  # the consumers get through (a translation of a partner's note is not ours to send)
    [offer] = _sent("Offer")
    assert offer["target"] == note.remote_id and offer["object"]["contentMap"] == {"zh-Hans": draft.body_html}
    assert offer["object"]["peh:translationOf"] == note.remote_id
    assert _sent("Update") == []


def test_an_offered_article_from_another_origin_is_refused_not_a_500(app, client, make_peer, publish):
    note = publish("public")
    peer = make_peer()
    before = _rows()
    article = {"id": "https://elsewhere.example/ap/notes/9", "type": "Article", "contentMap": {"en": "x"}}
    response = peer.post(client, peer.activity("Offer", article, target=OURS.format(note.id)))
    assert response.status_code == 400 and response.get_json()["error"] == "invalid_object"
    assert _rows() == before


def test_moderators_see_a_partners_held_comment_with_its_hub_and_findings_and_publish_it(
        app, client, make_peer, publish, people, login_as):
    from hub.services import screening
    from tests.helpers import post_form

    note = publish("public")
    peer = make_peer(trust="publish")
    peer.post(client, peer.activity("Create", _comment(peer, note.id, content="<p>Call Wang on 138 1234 5678.</p>")))
    inbox.process_pending(app)
    comment = db.session.scalar(sa.select(Comment))
    assert comment.state == "held"  # a trusted hub's comment with personal data waits all the same
    login_as(people["moderator"])
    page = client.get("/moderation/comments", headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    assert "来自合作平台" in page and "peer.example" in page and "Partner P" in page
    keys = [screening.key(finding) for finding in discussion.findings(comment)]
    response = post_form(client, f"/moderation/comments/{comment.id}/release",
                         {f"finding:{key}": "keep" for key in keys}, form_url="/moderation/comments")
    assert response.status_code == 302
    shown = client.get(f"/notes/{note.id}").get_data(as_text=True)
    assert "Call Wang" in shown and "from partner hub <bdi class=\"user-text\">peer.example</bdi>" in shown


def test_a_partners_pseudonym_with_direction_overrides_is_not_shown(app, client, make_peer, publish):
    note = publish("public")
    peer = make_peer(trust="publish")
    peer.post(client, peer.activity("Create", {**_comment(peer, note.id), "peh:authorPseudonym": "Bob\u202egnp.exe"}))
    inbox.process_pending(app)
    thread = db.session.scalar(sa.select(CommentThread))
    assert thread.author_pseudonym == "" and thread.comment.state == "published"


def test_a_partners_pseudonym_with_a_phone_number_is_not_shown(app, client, make_peer, publish):
    note = publish("public")
    peer = make_peer(trust="publish")
    peer.post(client, peer.activity("Create", {**_comment(peer, note.id),
                                                "peh:authorPseudonym": "Zhang Wei 13812345678"}))
    inbox.process_pending(app)
    thread = db.session.scalar(sa.select(CommentThread))
    assert thread.author_pseudonym == "" and "13812345678" not in client.get(f"/notes/{note.id}").get_data(as_text=True)


def _edit_as_writer(app, comment, body: str, **extra) -> None:
    """Edit ``comment`` through its page, in a browser signed in as its writer."""
    from tests.helpers import login, post_form

    browser = app.test_client()
    login(browser, comment.author.username)
    url = f"/notes/{comment.note_id}/comments/{comment.id}/edit"
    assert post_form(browser, url, {"body": body, **extra}).status_code == 302


def test_a_members_edit_of_their_comment_reaches_every_hub_that_has_it_marked_edited(
        app, client, make_peer, publish, people):
    reader, on_theirs, on_ours, went = _sent_comments_on_both(app, client, make_peer, publish, people,
                                                              "Ask Wang Fang at gate 7.")
    for comment in (on_theirs, on_ours):
        _edit_as_writer(app, comment, "Ask the clinic.")
    _consume(app)
    went += _send_all()

    def versions(kind: str, comment) -> list[dict]:
        return [a["object"] for a in went if a["type"] == kind
                and a["object"].get("id") == f"http://hub.test/ap/comments/{comment.id}"]
    [created] = versions("Create", on_theirs)
    [updated] = versions("Update", on_theirs)  # to the note's origin, which relays it to the hubs it has
    assert "Wang" in created["content"] and updated["content"].strip() == "<p>Ask the clinic.</p>"
    assert activities.parse_time(updated["updated"]) > activities.parse_time(created["updated"])
    assert "peh:editedAt" not in created and activities.iso(on_theirs.edited_at, precise=True) == updated["peh:editedAt"]
    [shown, announced] = versions("Announce", on_ours)  # to the hubs that have our note
    assert "Wang" in shown["content"] and announced["content"].strip() == "<p>Ask the clinic.</p>"
    assert activities.parse_time(announced["updated"]) > activities.parse_time(shown["updated"])
    assert announced["peh:editedAt"] and {d.inbox_url for d in db.session.scalars(sa.select(Delivery))
                                          if d.activity["type"] == "Announce"} == {reader.base + "/inbox"}


def test_a_version_of_a_comment_not_yet_sent_is_replaced_by_its_writers_edit(app, client, make_peer, publish,
                                                                              people):
    """A regretted phone number still waiting for a partner (or dead-lettered) never leaves: the edit replaces it."""
    author = people["author"]
    origin = make_peer(trust="publish")
    theirs = _remote_note(app, client, origin)
    ours = publish("public")
    make_peer("reader.example", they_follow=True)
    _consume(app)
    _send_all()  # the note reached the reader
    on_theirs = discussion.add_comment(theirs, by=author, body="Call me on 138 1234 5678.", confirm_privacy=True)
    on_ours = discussion.add_comment(ours, by=author, body="Call me on 138 1234 5678.", confirm_privacy=True)
    for comment in (on_theirs, on_ours):  # held, then shown by a moderator: queued for the partners
        discussion.release(comment, by=people["moderator"],
                           checked=[screening.key(f) for f in discussion.findings(comment)])
    _consume(app)
    queued = [d for d in db.session.scalars(sa.select(Delivery).where(Delivery.state == "pending"))]
    assert len(queued) == 2 and all("138 1234 5678" in json.dumps(d.activity) for d in queued)
    queued[0].state = "dead"  # one of them gave up on its partner: an admin could send it again
    db.session.commit()
    for comment in (on_theirs, on_ours):
        _edit_as_writer(app, comment, "Ask the centre for my number.")
    _consume(app)
    waiting = [d.activity for d in db.session.scalars(sa.select(Delivery).where(Delivery.state.in_(("pending", "dead"))))]
    assert sorted(a["type"] for a in waiting) == ["Announce", "Update"]
    assert all(a["object"]["content"].strip() == "<p>Ask the centre for my number.</p>" for a in waiting)
    assert "138 1234 5678" not in json.dumps([d.activity for d in db.session.scalars(sa.select(Delivery))])


def test_a_partners_comment_its_writer_edited_is_marked_edited_here(app, client, make_peer, publish):
    note = publish("public")
    writer = make_peer(trust="publish")
    writer.post(client, writer.activity("Create", _comment(writer, note.id)))
    inbox.process_pending(app)
    assert "edited" not in client.get(f"/notes/{note.id}?lang=en").get_data(as_text=True).split('id="comments-h"')[1]
    writer.post(client, writer.activity("Update", _comment(writer, note.id, content="<p>We tried it twice.</p>",
                                                           updated="2026-01-03T00:00:00Z",
                                                           **{"peh:editedAt": "2026-01-03T00:00:00Z"})))
    inbox.process_pending(app)
    comment = db.session.scalar(sa.select(Comment))
    assert comment.body == "We tried it twice." and comment.edited_at.isoformat() == "2026-01-03T00:00:00"
    page = client.get(f"/notes/{note.id}?lang=en").get_data(as_text=True)
    assert 'class="edited">edited <time datetime="2026-01-03T00:00:00Z">' in page


def test_an_edit_held_for_its_personal_data_reaches_the_origin_again_once_released(app, client, make_peer, people):
    """Withdrawn from the origin while held; released, the version sent is newer than the one it had."""
    origin = make_peer(trust="publish")
    theirs = _remote_note(app, client, origin)
    comment = discussion.add_comment(theirs, by=people["author"], body="We did this too.")
    _consume(app)
    went = _send_all()
    _edit_as_writer(app, comment, "We did this too. Call 138 1234 5678.", confirm_privacy="y")
    db.session.refresh(comment)
    assert comment.state == "held"
    _consume(app)
    went += _send_all()
    assert [a["type"] for a in went] == ["Create", "Delete"]  # withdrawn while a moderator looks
    discussion.release(comment, by=people["moderator"],
                       checked=[screening.key(f) for f in discussion.findings(comment)])
    _consume(app)
    [again] = _send_all()
    assert again["type"] == "Create" and "138 1234 5678" in again["object"]["content"]
    assert activities.parse_time(again["object"]["updated"]) > activities.parse_time(went[0]["object"]["updated"])


def _a_partners_comment_both_hubs_have(app, client, make_peer, publish):
    """A comment written on a partner hub (``writer``) under our public note, shown here and sent to the other hub
    (``reader``); return the two hubs and the comment."""
    note = publish("public")
    writer = make_peer(trust="publish", they_follow=True)
    reader = make_peer("reader.example", they_follow=True)
    _consume(app)
    _send_all()
    writer.post(client, writer.activity("Create", _comment(
        writer, note.id, content="<p>We post kits. Our van waits at gate 7 of the Lotus market.</p>")))
    inbox.process_pending(app)
    comment = db.session.scalar(sa.select(Comment).where(Comment.note_id == note.id))
    assert comment.state == "published"
    _consume(app)
    _send_all()  # the reader hub has the comment
    return writer, reader, comment


def test_a_cut_still_waiting_for_the_writers_hub_goes_after_a_further_edit_it_does_not_take(
        app, client, make_peer, publish, people):
    """The writer's hub was down when a moderator cut a place out of its member's comment, then edited more.

    The further edit stays here (discussion.Reach.NOT_WRITER); the cut, queued for the writer's hub as
    a version it takes, still goes to it, or it keeps the place the moderator removed.
    """
    moderator = people["moderator"]
    writer, reader, comment = _a_partners_comment_both_hubs_have(app, client, make_peer, publish)

    assert discussion.redact(comment, by=moderator, body="We post kits. Our van waits .") is discussion.Reach.MARKED
    _consume(app)  # the cut waits for both hubs (the writer's is down)
    assert discussion.redact(comment, by=moderator, body="We post kits in plain parcels.") is \
        discussion.Reach.NOT_WRITER
    _consume(app)

    went = {row["cc"][0]: html_text(row["object"]["content"]) for row in _send_all() if row["type"] == "Announce"}
    marker = screening.marker(discussion.comment_language(comment))
    assert went == {writer.actor_id: f"We post kits. Our van waits {marker}.",
                    reader.actor_id: "We post kits in plain parcels."}


def _redact_on_the_page(app, moderator, comment, body: str, *, lang: str = "en") -> str:
    """Save a moderator's redaction of ``comment`` through its page (in English); return the page shown after."""
    from tests.helpers import login, post_form

    browser = app.test_client()
    assert login(browser, moderator.username).status_code == 302
    url = f"/moderation/comments/{comment.id}/redact?lang={lang}"
    response = post_form(browser, url, {"body": body}, follow_redirects=True)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_a_change_the_writers_hub_does_not_take_waits_until_the_cut_before_it_is_queued_for_that_hub(
        app, client, make_peer, publish, people):
    """The worker had not read the cut yet when the moderator changed the text more: what it would then build
    for the writer's hub is the comment as it stands, which that hub does not take. The change is refused
    until the cut is queued for it, then goes where it goes, and the cut still reaches the writer's hub."""
    moderator = people["moderator"]
    writer, reader, comment = _a_partners_comment_both_hubs_have(app, client, make_peer, publish)

    _redact_on_the_page(app, moderator, comment, "We post kits. Our van waits .")
    worker.Heartbeat(app).beat(force=True)  # the worker runs, but has not read the cut yet
    page = _redact_on_the_page(app, moderator, comment, "We post kits in plain parcels.")
    assert "Nothing was saved" in page and "Try again in a minute" in page
    db.session.expire_all()
    marker = screening.marker(discussion.comment_language(comment))
    assert html_text(comment.body_html) == f"We post kits. Our van waits {marker}."
    _consume(app)  # the cut is queued for both hubs
    page = _redact_on_the_page(app, moderator, comment, "We post kits in plain parcels.")
    assert "Saved on this hub" in page
    _consume(app)

    went = {row["cc"][0]: html_text(row["object"]["content"]) for row in _send_all() if row["type"] == "Announce"}
    assert went == {writer.actor_id: f"We post kits. Our van waits {marker}.",
                    reader.actor_id: "We post kits in plain parcels."}


# What a moderator is told when the worker that would send the cut is not running: waiting does not help.
NO_WORKER = {"en": ("Nothing was saved", "is not running, so waiting will not help", "ask an admin to start it"),
             "zh_Hans": ("没有保存", "后台程序没有在运行，等待也没有用", "请让管理员启动它")}


@pytest.mark.parametrize("lang", list(NO_WORKER))
@pytest.mark.parametrize("last_beat", ["never", "stopped", "stale"])
def test_a_change_refused_for_a_cut_not_yet_sent_says_so_when_no_worker_runs(
        app, client, make_peer, publish, people, lang, last_beat):
    """No worker reads the log, so the cut stays unsent for as long as it is down: "try again in a minute" would
    mislead. The moderator is told the worker is not running and what to do; once it runs, the change saves."""
    from tests.helpers import login, post_form

    moderator = people["moderator"]
    _writer, _reader, comment = _a_partners_comment_both_hubs_have(app, client, make_peer, publish)
    _redact_on_the_page(app, moderator, comment, "We post kits. Our van waits .")
    if last_beat == "stopped":
        worker.Heartbeat(app).beat(stopped=True)
    elif last_beat == "stale":
        worker.Heartbeat(app).beat(force=True)
        app.config["WORKER_HEARTBEAT_SECONDS"] = 0.001  # its heartbeat is now long past three intervals
    browser = app.test_client()
    assert login(browser, moderator.username).status_code == 302
    url = f"/moderation/comments/{comment.id}/redact?lang={lang}"
    page = post_form(browser, url, {"body": "We post kits in plain parcels."}, follow_redirects=True
                     ).get_data(as_text=True)
    assert all(said in page for said in NO_WORKER[lang]), page
    assert "Try again in a minute" not in page and "请过一分钟再试" not in page
    _consume(app)  # a worker runs and reads the cut: the change saves
    assert "Saved on this hub" in _redact_on_the_page(app, moderator, comment, "We post kits in plain parcels.")


def _take_off_the_allow_list(app, admin, peer) -> None:
    from tests.helpers import login, post_form

    browser = app.test_client()
    assert login(browser, admin.username).status_code == 302
    url = f"/admin/partners/{peer.row.id}/allowlist/off"
    assert post_form(browser, url, {}, form_url=f"/admin/partners/{peer.row.id}").status_code == 302


def test_a_moderator_is_not_told_a_cut_reaches_a_writers_hub_off_the_allow_list(
        app, client, make_peer, publish, people):
    """In allow-list mode the hub a comment was written on, taken off the list, is sent no comments: the redaction
    page and what it says after saving must not promise that hub the cut. The cut is saved marked all the same."""
    from tests.helpers import login

    moderator = people["moderator"]
    writer, reader, comment = _a_partners_comment_both_hubs_have(app, client, make_peer, publish)
    _take_off_the_allow_list(app, people["admin"], writer)
    browser = app.test_client()
    assert login(browser, moderator.username).status_code == 302
    for lang, said in (("en", "your change does not reach it"), ("zh_Hans", "你的修改不会送到它")):
        page = browser.get(f"/moderation/comments/{comment.id}/redact?lang={lang}").get_data(as_text=True)
        assert said in page
    assert "takes your change only if" not in page and "只有删去个人信息的修改才会被该平台接受" not in page

    page = _redact_on_the_page(app, moderator, comment, "We post kits. Our van waits .")
    assert "does not get this change" in page and "takes the change too" not in page
    assert "it is off the allow-list: it gets your latest cut only if it is put back on the list" in page
    db.session.expire_all()
    marker = screening.marker(discussion.comment_language(comment))
    assert html_text(comment.body_html) == f"We post kits. Our van waits {marker}."  # saved as before
    _consume(app)
    went = {row["cc"][0]: html_text(row["object"]["content"]) for row in _send_all() if row["type"] == "Announce"}
    assert went == {reader.actor_id: f"We post kits. Our van waits {marker}."}


@pytest.mark.parametrize(("lang", "why", "not_why"), [
    ("en", "this note is no longer shared with partner hubs", "it is blocked"),
    ("zh_Hans", "本笔记已不再与合作平台分享", "它已被屏蔽")])
def test_a_moderator_is_told_the_note_narrowed_to_members_is_why_a_cut_does_not_reach_the_writers_hub(
        app, client, make_peer, publish, people, lang, why, not_why):
    """The writer's hub follows us and is listed; what keeps the cut from it is the note, no longer shared with hubs."""
    from hub.services import notes
    from tests.helpers import login

    moderator = people["moderator"]
    _writer, _reader, comment = _a_partners_comment_both_hubs_have(app, client, make_peer, publish)
    notes.narrow_visibility(comment.note, by=moderator, visibility="members")
    db.session.commit()
    page = _redact_on_the_page(app, moderator, comment, "We post kits. Our van waits .", lang=lang)
    assert why in page and not_why not in page
    browser = app.test_client()
    assert login(browser, moderator.username).status_code == 302
    page = browser.get(f"/moderation/comments/{comment.id}/redact?lang={lang}").get_data(as_text=True)
    assert 'id="writer-hub"' in page and why in page and not_why not in page


def test_the_held_comments_list_does_not_promise_a_cut_to_a_writers_hub_off_the_allow_list(
        app, client, make_peer, publish, people, login_as):
    from tests.helpers import post_form

    writer, comment = _a_partners_held_comment(app, client, make_peer, publish)
    _take_off_the_allow_list(app, people["admin"], writer)
    login_as(people["moderator"])
    page = client.get("/moderation/comments?lang=en").get_data(as_text=True)
    assert f'id="writer-hub-{comment.id}"' in page and "your change does not reach it" in page
    keys = [screening.key(finding) for finding in discussion.findings(comment)]
    response = post_form(client, f"/moderation/comments/{comment.id}/release?lang=en",
                         {f"finding:{key}": "redact" for key in keys}, form_url="/moderation/comments?lang=en",
                         follow_redirects=True)
    page = response.get_data(as_text=True)
    assert "The comment is published" in page
    assert "does not get this change" in page and "takes the change too" not in page
    assert "it is off the allow-list: it gets your latest cut only if it is put back on the list" in page
    _consume(app)
    assert [row for row in _send_all() if writer.actor_id in row.get("cc", []) + row.get("to", [])] == []


def _a_partners_held_comment(app, client, make_peer, publish):
    """A comment written on a partner hub (``writer``, which has our note) that waits here for its phone number."""
    note = publish("public")
    writer = make_peer(trust="publish", they_follow=True)
    _consume(app)
    _send_all()
    writer.post(client, writer.activity("Create", _comment(writer, note.id,
                                                           content="<p>Call Wang on 138 1234 5678.</p>")))
    inbox.process_pending(app)
    comment = db.session.scalar(sa.select(Comment).where(Comment.note_id == note.id))
    assert comment.state == "held"
    return writer, comment


def test_a_change_the_writers_hub_does_not_take_waits_until_a_cut_made_while_held_is_published(
        app, client, make_peer, publish, people):
    """A cut made while the comment was held reaches its writer's hub only at release, built from the comment as
    it then stands: a further change that hub does not take, saved before, would keep the cut from it."""
    from tests.helpers import login, post_form

    moderator = people["moderator"]
    writer, comment = _a_partners_held_comment(app, client, make_peer, publish)
    _redact_on_the_page(app, moderator, comment, "Call Wang on .")  # the deletion is marked
    page = _redact_on_the_page(app, moderator, comment, "Call Wang at the market.")
    assert "Nothing was saved" in page and "Publish the comment first" in page
    db.session.expire_all()
    marker = screening.marker(discussion.comment_language(comment))
    assert html_text(comment.body_html) == f"Call Wang on {marker}."
    browser = app.test_client()
    assert login(browser, moderator.username).status_code == 302
    assert post_form(browser, f"/moderation/comments/{comment.id}/release", {},
                     form_url="/moderation/comments").status_code == 302
    db.session.expire_all()
    assert comment.state == "published"
    _consume(app)  # the cut is queued for the writer's hub
    page = _redact_on_the_page(app, moderator, comment, "Call Wang at the market.")
    assert "Saved on this hub" in page
    _consume(app)
    went = [html_text(row["object"]["content"]) for row in _send_all()
            if row["type"] == "Announce" and writer.actor_id in row["cc"] + row["to"]]
    assert went == [f"Call Wang on {marker}."]


def test_a_change_the_writers_hub_does_not_take_waits_until_the_release_of_a_cut_held_comment_is_on_its_way(
        app, client, make_peer, publish, people):
    """Released with a cut made while it was held, the comment goes to its writer's hub once the worker reads the
    release (comment.added, marked redacted): a change that hub does not take, saved before that, would keep
    the cut from it, as a change saved right after a cut on a shown comment would."""
    from tests.helpers import login, post_form

    moderator = people["moderator"]
    writer, comment = _a_partners_held_comment(app, client, make_peer, publish)
    _redact_on_the_page(app, moderator, comment, "Call Wang on .")
    browser = app.test_client()
    assert login(browser, moderator.username).status_code == 302
    assert post_form(browser, f"/moderation/comments/{comment.id}/release", {},
                     form_url="/moderation/comments").status_code == 302
    page = _redact_on_the_page(app, moderator, comment, "Call Wang at the market.")  # the release not read yet
    assert "Nothing was saved" in page
    _consume(app)  # the release is read: the cut is queued for the writer's hub
    assert "Saved on this hub" in _redact_on_the_page(app, moderator, comment, "Call Wang at the market.")
    _consume(app)
    marker = screening.marker(discussion.comment_language(comment))
    went = [html_text(row["object"]["content"]) for row in _send_all()
            if row["type"] == "Announce" and writer.actor_id in row["cc"] + row["to"]]
    assert went == [f"Call Wang on {marker}."]


def test_a_change_the_writers_hub_does_not_take_waits_until_a_note_redactions_cut_of_a_held_comment_is_published(
        app, client, make_peer, publish, people):
    """The same when the cut came from a redaction of the note scrubbing the comment (discussion.scrub_comments)."""
    from hub.services import redaction

    moderator = people["moderator"]
    writer, comment = _a_partners_held_comment(app, client, make_peer, publish)
    removed = redaction.Removed(literals=frozenset({"138 1234 5678"}))  # as a redaction of the note would
    assert discussion.scrub_comments([comment.note_id], removed, by=moderator) == 1
    db.session.commit()
    assert comment.thread.cut_while_held
    page = _redact_on_the_page(app, moderator, comment, "Call Wang at the market.")
    assert "Nothing was saved" in page and "Publish the comment first" in page
