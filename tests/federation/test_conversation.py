"""The conversation across hubs, with the three hub processes of conftest.py (A, B, C).

B and C follow A; A allow-lists B (and follows it back); C trusts A to publish, B moderates
A's notes, and A moderates what both send it. A comment, a mark, a flag or a translation made
on B or C about A's note goes to A, which relays what it shows to every other hub with the note.
"""
from __future__ import annotations

import json
import re
import urllib.parse
import urllib.request
from http.cookiejar import CookieJar

import sqlalchemy as sa

from hub.extensions import db
from hub.federation import conversation
from hub.models.federation import Delivery, InboxItem
from hub.models import Comment, CommentThread, Flag, FlagOrigin, MarkTotal, Note, RemoteMark
from hub.services import discussion, moderation, notes, screening, translations
from tests.federation.hubs import PASSWORD, Hub, copy_of, publish, wait_for
from tests.helpers import approve_checked


def _approved_copy(hub: Hub, origin: Hub, note_id: int) -> int:
    """Wait for ``hub``'s copy of the note, publish it there if it waits for review; return its id."""
    copy = wait_for(lambda: copy_of(hub, origin, note_id), what=f"the note on {hub.name}", hubs=[origin, hub])
    with hub.context():
        note = db.session.get(Note, copy["id"])
        if note.state == "submitted":
            notes.approve(note, by=hub.user("moder"))
    return copy["id"]


def _comments(hub: Hub, note_id: int) -> list[dict]:
    """Return every comment a hub holds on a note, with where it came from."""
    with hub.context():
        rows = []
        for comment in db.session.scalars(sa.select(Comment).where(Comment.note_id == note_id).order_by(Comment.id)):
            thread = db.session.get(CommentThread, comment.id)
            rows.append({"id": comment.id, "body": comment.body, "removed": comment.removed_at is not None,
                         "held": comment.state == "held", "remote_id": thread.remote_id if thread else None,
                         "pseudonym": thread.author_pseudonym if thread else None,
                         "from": thread.origin_host if thread else None,
                         "parent": thread.parent_id if thread else None,
                         "shown": comment in discussion.visible_comments(comment.note)})
        return rows


def _sent(hub: Hub, kind: str) -> list[dict]:
    """Return the activities of ``kind`` the hub queued for others (what went over the wire)."""
    with hub.context():
        return [d.activity for d in db.session.scalars(sa.select(Delivery).order_by(Delivery.id))
                if d.activity.get("type") == kind]


def _received(hub: Hub, kind: str) -> list[dict]:
    with hub.context():
        return [json.loads(i.raw) for i in db.session.scalars(sa.select(InboxItem).order_by(InboxItem.id))
                if json.loads(i.raw).get("type") == kind]


def _release(hub: Hub, comment_id: int) -> None:
    """Publish a held comment as a moderator who ticked every finding as checked."""
    with hub.context():
        comment = db.session.get(Comment, comment_id)
        keys = [screening.key(finding) for finding in discussion.findings(comment)]
        discussion.release(comment, by=hub.user("moder"), checked=keys)


def test_a_comment_reaches_the_origin_waits_for_its_moderator_and_reaches_the_other_hubs(hubs):
    a, b, c = hubs["a"], hubs["b"], hubs["c"]
    note_id = publish(a, "Night outreach with a van")
    on_b, on_c = _approved_copy(b, a, note_id), _approved_copy(c, a, note_id)
    with b.context():
        writer = b.user("writer")
        pseudonym, username = writer.pseudonym, writer.username
        written = discussion.add_comment(db.session.get(Note, on_b), by=writer,
                                         body="We tried this in Mianyang: it *worked*.").id
    held = wait_for(lambda: _comments(a, note_id), what="B's comment on A", hubs=[a, b])
    [comment] = held
    assert comment["held"] and not comment["shown"]  # A moderates what B sends
    assert comment["pseudonym"] == pseudonym and comment["from"] == b.base.removeprefix("http://")
    assert comment["body"] == "We tried this in Mianyang: it worked."
    # What B sends (built as its worker builds it: neither B's sent delivery nor A's applied item keeps the text).
    # B records the delivery as sent (and trims it) once A has answered: A may have taken it a moment before.
    wait_for(lambda: [set(a_["object"]) for a_ in _sent(b, "Create") if a_["object"].get("type") == "Note"]
             == [{"id", "type"}], what="B's sent Create kept as its object's id only", hubs=[a, b])
    [create] = [a_ for a_ in _sent(b, "Create") if a_["object"].get("type") == "Note"]
    with b.context():
        sent = conversation.comment_to_note(db.session.get(Comment, written), recipients=[a.base + "/actor"])
    assert sent["id"] == create["object"]["id"] and sent["attributedTo"] == b.base + "/actor"
    assert sent["inReplyTo"] == f"{a.base}/ap/notes/{note_id}"
    # Authors are not actors: the pseudonym travels, never the account.
    assert f'"{username}"' not in json.dumps(sent) and "/users/" not in json.dumps(sent)
    assert _comments(c, on_c) == []  # nothing is relayed before A's moderator shows it
    _release(a, comment["id"])
    [relayed] = wait_for(lambda: _comments(c, on_c), what="A's Announce of B's comment on C", hubs=[a, c])
    assert relayed["shown"] and relayed["remote_id"] == comment["remote_id"] and relayed["pseudonym"] == pseudonym
    assert relayed["from"] == b.base.removeprefix("http://")  # written on B, relayed by A
    assert [x["remote_id"] for x in _comments(b, on_b)] == [None]  # B is not sent its own comment back

    # A reply on C to B's comment keeps its thread on A, and reaches B through A.
    with c.context():
        parent = db.session.get(Comment, relayed["id"])
        discussion.add_comment(db.session.get(Note, on_c), by=c.user("writer"), body="How did you pay for the van?",
                          parent=parent)
    reply = wait_for(lambda: [x for x in _comments(a, note_id) if x["body"].startswith("How")],
                     what="C's reply on A", hubs=[a, c])[0]
    assert reply["parent"] == comment["id"] and reply["held"]
    _release(a, reply["id"])
    on_b_reply = wait_for(lambda: [x for x in _comments(b, on_b) if x["body"].startswith("How")],
                          what="C's reply on B", hubs=[a, b])[0]
    [b_own] = [x for x in _comments(b, on_b) if x["remote_id"] is None]
    assert on_b_reply["parent"] == b_own["id"] and on_b_reply["held"]  # B moderates what A relays

    # B's moderator removes B's comment: A and, through A, C remove it too.
    with b.context():
        discussion.remove_comment(db.session.get(Comment, b_own["id"]), by=b.user("moder"))
    wait_for(lambda: _comments(c, on_c)[0]["removed"], what="the removal on C", hubs=[a, b, c])
    assert _comments(a, note_id)[0]["removed"]


def test_a_trusted_hubs_comment_is_shown_at_once_but_personal_data_always_waits(hubs):
    a, b = hubs["a"], hubs["b"]
    from hub.federation import peers
    from hub.models.federation import PeerHub

    note_id = publish(a, "Peer-led naloxone training")
    on_b = _approved_copy(b, a, note_id)
    with a.context():
        row = db.session.scalar(sa.select(PeerHub).where(PeerHub.base_url == b.base))
        peers.set_trust(row, "publish", by=a.user("admin"))
    try:
        with b.context():
            note, writer = db.session.get(Note, on_b), b.user("writer")
            discussion.add_comment(note, by=writer, body="Same here, thank you.")
            # Personal data waits for B's moderator first, then (checked there) for A's: always.
            held_on_b = discussion.add_comment(note, by=writer, body="Call Wang on 138 1234 5678 for the kits.",
                                               confirm_privacy=True).id
        assert len(_comments(a, note_id)) <= 1
        _release(b, held_on_b)
        found = wait_for(lambda: len(_comments(a, note_id)) == 2 and _comments(a, note_id), what="both comments",
                         hubs=[a, b])
        assert [(x["shown"], x["held"]) for x in found] == [(True, False), (False, True)]
    finally:
        with a.context():
            row = db.session.scalar(sa.select(PeerHub).where(PeerHub.base_url == b.base))
            peers.set_trust(row, "moderate", by=a.user("admin"))


def _totals(hub: Hub, note_id: int) -> dict[str, int]:
    with hub.context():
        return dict(db.session.execute(sa.select(MarkTotal.kind, MarkTotal.count)
                                       .where(MarkTotal.note_id == note_id)).all())


def test_marks_are_counted_once_per_hub_and_every_hub_shows_the_origins_totals(hubs):
    a, b, c = hubs["a"], hubs["b"], hubs["c"]
    note_id = publish(a, "Pharmacy outreach hours")
    on_b, on_c = _approved_copy(b, a, note_id), _approved_copy(c, a, note_id)
    for hub, copy, people in ((b, on_b, ("writer", "moder")), (c, on_c, ("writer",)), (a, note_id, ("moder",))):
        with hub.context():
            for username in people:
                notes.toggle_mark(db.session.get(Note, copy), by=hub.user(username), kind="tried")

    def remote_marks() -> list[tuple[int, str]]:
        with a.context():
            return sorted(db.session.execute(sa.select(RemoteMark.peer_id, RemoteMark.kind)
                                             .where(RemoteMark.note_id == note_id)).tuples())
    wait_for(lambda: len(remote_marks()) == 2, what="one mark from B and one from C on A", hubs=[a, b, c])
    assert [kind for _peer, kind in remote_marks()] == ["tried", "tried"]  # B's two members count once
    wait_for(lambda: _totals(c, on_c).get("tried") == 3 and _totals(b, on_b).get("tried") == 3,
             what="A's totals on B and C", hubs=[a, b, c])
    with c.context():
        shown = notes.mark_counts(db.session.get(Note, on_c), c.user("writer"))
        assert shown["tried"] == {"count": 3, "hubs": 0, "mine": True}
    with a.context():  # the origin shows the same total: its member and each partner hub once
        shown = notes.mark_counts(db.session.get(Note, note_id), a.user("moder"))
        assert shown["tried"] == {"count": 3, "hubs": 2, "mine": True}
    with b.context():  # B's members take their marks back: the last one withdraws B's Like
        for username in ("writer", "moder"):
            notes.toggle_mark(db.session.get(Note, on_b), by=b.user(username), kind="tried")
    wait_for(lambda: len(remote_marks()) == 1 and _totals(c, on_c).get("tried") == 2,
             what="the Undo and the new totals", hubs=[a, b, c])
    likes = [x for x in _received(a, "Like") if x["object"] == f"{a.base}/ap/notes/{note_id}"]
    assert sorted(x["actor"] for x in likes) == sorted([b.base + "/actor", c.base + "/actor"])
    assert all(x["peh:kind"] == "tried" for x in likes)


def test_a_flag_reaches_the_origins_moderators_without_the_reporters_identity(hubs):
    a, c = hubs["a"], hubs["c"]
    note_id = publish(a, "Clinic referral list")
    on_c = _approved_copy(c, a, note_id)
    with c.context():
        reporter = c.user("writer")
        secrets_of_reporter = [reporter.username, reporter.pseudonym, f"/users/{reporter.id}", "13912345678"]
        notes.flag(db.session.get(Note, on_c), by=reporter, reason="personal_data",
                   detail="I am the reporter, call me on 13912345678", confirm_privacy=True)
    flag = wait_for(lambda: _received(a, "Flag"), what="the Flag on A", hubs=[a, c])[0]
    raw = json.dumps(flag, ensure_ascii=False)
    assert flag["actor"] == c.base + "/actor" and flag["peh:reason"] == "personal_data"
    assert flag["object"] == [f"{a.base}/ap/notes/{note_id}"]
    assert [s for s in secrets_of_reporter if s in raw] == []
    with a.context():
        stored = wait_for(lambda: db.session.scalar(sa.select(Flag).where(Flag.note_id == note_id)),
                          what="the flag in A's queue", hubs=[a])
        assert stored.reporter_id is None and stored.reason == "personal_data" and stored.detail == ""
        assert db.session.get(FlagOrigin, stored.id).peer.base_url == c.base


def _translated_on_b(hubs, title: str, text: tuple[str, str, str]) -> tuple[int, int]:
    """Publish a note on A, have B and C take it, and B's member translate it (title, summary, body), published
    on B; return the note's id on A and the translation's on B."""
    a, b, c = hubs["a"], hubs["b"], hubs["c"]
    note_id = publish(a, title)
    on_b = _approved_copy(b, a, note_id)
    _approved_copy(c, a, note_id)
    with b.context():
        translator = b.user("writer")
        draft = translations.start(db.session.get(Note, on_b), by=translator, language="zh_Hans")
        data = notes.input_of(draft)
        data.title, data.summary, data.body = text
        notes.save(draft, by=translator, data=data)
        notes.submit(draft, by=translator, confirm_privacy=True)
        approve_checked(draft, by=b.user("moder"))
        return note_id, draft.id


def test_a_translation_offered_by_a_partner_and_accepted_on_the_origin_reaches_the_other_hubs(hubs):
    a, b, c = hubs["a"], hubs["b"], hubs["c"]
    note_id, _translation = _translated_on_b(hubs, "Mobile needle exchange", (
        "流动针具交换", "流动针具交换的经验：a<b & c>d。", "我们用一辆车开展针具交换。"))

    def proposal() -> dict | None:
        with a.context():
            note = db.session.scalar(sa.select(Note).where(Note.translation_of_id == note_id))
            return note and {"id": note.id, "state": note.state, "title": note.title, "language": note.language,
                             "summary": note.summary, "remote": note.origin_peer_id is not None}
    offered = wait_for(proposal, what="B's translation proposed on A", hubs=[a, b])
    assert offered == {"id": offered["id"], "state": "submitted", "title": "流动针具交换", "language": "zh_Hans",
                       "summary": "流动针具交换的经验：a<b & c>d。", "remote": True}  # the Offer's summary: escaped HTML
    with a.context():
        notes.approve(db.session.get(Note, offered["id"]), by=a.user("moder"))

    def on_c() -> dict | None:
        with c.context():
            note = db.session.scalar(sa.select(Note).where(Note.remote_id == f"{a.base}/ap/notes/{note_id}#zh-Hans"))
            return note and {"title": note.title, "state": note.state, "body": note.body}
    assert wait_for(on_c, what="the accepted translation on C", hubs=[a, c]) == {
        "title": "流动针具交换", "state": "published", "body": "我们用一辆车开展针具交换。"}


def test_a_translation_redacted_then_taken_down_on_the_translating_hub_leaves_the_origin_and_the_other_hubs(hubs):
    a, b, c = hubs["a"], hubs["b"], hubs["c"]
    note_id, translation_id = _translated_on_b(hubs, "Peer-run testing days", (
        "同伴检测日", "同伴检测日的经验。", "每周五找王小明拿检测包。"))

    def on_a() -> dict | None:
        with a.context():
            note = db.session.scalar(sa.select(Note).where(Note.translation_of_id == note_id))
            return note and {"id": note.id, "state": note.state, "body": note.body}
    offered = wait_for(on_a, what="B's translation proposed on A", hubs=[a, b])
    with a.context():
        approve_checked(db.session.get(Note, offered["id"]), by=a.user("moder"))

    def on_c() -> dict | None:
        with c.context():
            note = db.session.scalar(sa.select(Note).where(Note.remote_id == f"{a.base}/ap/notes/{note_id}#zh-Hans"))
            return note and {"state": note.state, "body": note.body}
    wait_for(lambda: (on_c() or {}).get("state") == "published", what="the accepted translation on C", hubs=[a, c])

    # B's moderator cuts the name out: A takes the cut at once (marked), and C gets it from A.
    with b.context():
        moderation.redact_note(db.session.get(Note, translation_id), by=b.user("moder"),
                               fields={"title": "同伴检测日", "summary": "同伴检测日的经验。", "body": "每周五找拿检测包。"})
    with a.context():
        marker = screening.marker("zh_Hans")  # in the hub's words (translated)
    redacted = wait_for(lambda: (on_a() or {}).get("body", "").count(marker) and on_a(), what="the cut on A",
                        hubs=[a, b])
    assert redacted["state"] == "published" and "王小明" not in redacted["body"]
    wait_for(lambda: "王小明" not in (on_c() or {}).get("body", "王小明"), what="the cut on C", hubs=[a, c])

    # B's moderator takes it down: A drops it, and C with it.
    with b.context():
        notes.unpublish(db.session.get(Note, translation_id), by=b.user("moder"), reason="Checking a detail.")
    wait_for(lambda: on_a()["state"] == "deleted", what="the translation withdrawn on A", hubs=[a, b])
    wait_for(lambda: (on_c() or {}).get("state") == "deleted", what="the translation gone on C", hubs=[a, c])
    with a.context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Note).where(
            Note.translation_of_id == note_id, Note.state == "submitted")) == 0  # nothing left to decide on


def test_a_moderators_edit_of_a_partners_comment_reaches_its_hub_only_as_cuts_it_takes(hubs):
    from hub.models.federation import Delivery

    a, b, c = hubs["a"], hubs["b"], hubs["c"]

    def failed_on_b() -> int:
        with b.context():
            return db.session.scalar(sa.select(sa.func.count()).select_from(InboxItem)
                                     .where(InboxItem.state == "failed"))

    failed_before = failed_on_b()
    note_id = publish(a, "Kits by post")
    on_b, on_c = _approved_copy(b, a, note_id), _approved_copy(c, a, note_id)
    with b.context():
        discussion.add_comment(db.session.get(Note, on_b), by=b.user("writer"),
                               body="We post kits. Our van waits at gate 7 of the Lotus market.")
    [comment] = wait_for(lambda: _comments(a, note_id), what="B's comment on A", hubs=[a, b])
    _release(a, comment["id"])
    wait_for(lambda: _comments(c, on_c), what="B's comment on C", hubs=[a, c])

    def redact(body: str) -> discussion.Reach:
        with a.context():
            return discussion.redact(db.session.get(Comment, comment["id"]), by=a.user("moder"), body=body)

    # Text only deleted reaches B marked, and B takes it.
    assert redact("We post kits. Our van waits .") is discussion.Reach.MARKED
    marked = "We post kits. Our van waits [personal data removed]."
    wait_for(lambda: _comments(b, on_b)[0]["body"] == marked, what="the marked cut on B", hubs=[a, b])
    # Other words stay off B, which would refuse them; C, a reader, gets them. The deliveries are told
    # apart by id, not by text: a sent one keeps only its object's id.
    with a.context():
        before = db.session.scalar(sa.select(sa.func.max(Delivery.id)))
    assert redact("We post kits in plain parcels.") is discussion.Reach.NOT_WRITER
    wait_for(lambda: _comments(c, on_c)[0]["body"] == "We post kits in plain parcels.", what="the edit on C",
             hubs=[a, c])
    with a.context():
        announced = [d.inbox_url for d in db.session.scalars(sa.select(Delivery).where(Delivery.id > before))
                     if d.activity["type"] == "Announce"]
    assert announced and not any(url.startswith(b.base) for url in announced)
    assert _comments(b, on_b)[0]["body"] == marked and failed_on_b() == failed_before


def test_redacting_a_note_cuts_the_name_out_of_a_partner_members_comment_on_every_hub(hubs):
    a, b, c = hubs["a"], hubs["b"], hubs["c"]
    name, title, summary = "王小明", "Meeting at the gate", "Where we meet new people."
    with a.context():
        note = notes.create_draft(author=a.user("writer"), data=notes.NoteInput(
            title=title, summary=summary, body=f"We met {name} at the gate.", language="en", visibility="public"))
        notes.submit(note, by=a.user("writer"), confirm_privacy=True)
        note_id = approve_checked(note, by=a.user("moder")).id
    on_b, on_c = _approved_copy(b, a, note_id), _approved_copy(c, a, note_id)
    with b.context():
        discussion.add_comment(db.session.get(Note, on_b), by=b.user("writer"), body=f"Say hello to {name} from us.",
                               confirm_privacy=True)
    [comment] = wait_for(lambda: _comments(a, note_id), what="B's comment on A", hubs=[a, b])
    _release(a, comment["id"])
    wait_for(lambda: _comments(c, on_c), what="B's comment on C", hubs=[a, c])

    with a.context():
        done = moderation.redact_note(db.session.get(Note, note_id), by=a.user("moder"), fields={
            "title": title, "summary": summary, "body": "We met [personal data removed] at the gate."})
    assert done.comments == 1
    cut = "Say hello to [personal data removed] from us."
    assert _comments(a, note_id)[0]["body"] == cut
    # B, where it was written, takes the cut (only cuts); C, a reader through A, follows A.
    wait_for(lambda: _comments(b, on_b)[0]["body"] == cut, what="the cut on B", hubs=[a, b])
    wait_for(lambda: _comments(c, on_c)[0]["body"] == cut, what="the cut on C", hubs=[a, c])


def test_a_members_edit_of_their_comment_reaches_the_origin_and_the_other_hubs(hubs):
    a, b, c = hubs["a"], hubs["b"], hubs["c"]
    note_id = publish(a, "Kits at the night market")
    on_b, on_c = _approved_copy(b, a, note_id), _approved_copy(c, a, note_id)
    with b.context():
        written = discussion.add_comment(db.session.get(Note, on_b), by=b.user("writer"),
                                         body="Ask Wang Fang at gate 7 of the Lotus market.").id
    [comment] = wait_for(lambda: _comments(a, note_id), what="B's comment on A", hubs=[a, b])
    _release(a, comment["id"])
    wait_for(lambda: _comments(c, on_c), what="B's comment on C", hubs=[a, c])
    # B's member regrets the name: edits the comment through B's page, as a person would.
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))

    def post(path: str, form: dict) -> None:
        page = opener.open(b.base + path).read().decode()
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
        data = urllib.parse.urlencode({"csrf_token": token, **form}).encode()
        request = urllib.request.Request(b.base + path, data=data, headers={"Referer": b.base + path})
        opener.open(request).read()

    post("/login", {"login": "writer", "password": PASSWORD})
    post(f"/notes/{on_b}/comments/{written}/edit", {"body": "Ask the clinic for the kits."})
    for hub, copy in ((a, note_id), (c, on_c)):
        [edited] = wait_for(lambda hub=hub, copy=copy: [x for x in _comments(hub, copy)
                                                        if x["body"] == "Ask the clinic for the kits."],
                            what=f"the edit on {hub.name}", hubs=[a, b, c])
        assert edited["shown"] and not edited["removed"]
        with hub.context():
            assert db.session.get(Comment, edited["id"]).edited_at is not None  # marked "edited" there too
        assert "Wang Fang" not in json.dumps(_comments(hub, copy))
