"""The inbox's door tells a hub nothing of our notes and comments it may not read.

A draft, a submitted or a members-only note, a held, declined or removed comment, a comment under a
members-only note: whatever a hub names in an ``Announce`` (a relayed reply, a relayed removal), it gets
the very answer (status and body) it gets for an id that never existed here, whether it is a hub met for
the first time or a known partner. What the note's origin relays of its own conversation is still taken.
"""
from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from hub.extensions import db
from hub.federation import inbox
from hub.models import Comment, CommentState, CommentThread, Note
from hub.services import discussion, notes
from tests.federation.fixtures import AS, FakePeer, keypair

OURS = "http://hub.test/ap/{}/{}"
NEVER = 99999


@dataclass
class Stranger(FakePeer):
    """A hub never met before, its actor served by the fake peer server (one actor per probe)."""

    path: str = "/actor"

    @property
    def actor_id(self) -> str:
        return self.base + self.path


def _strangers(app, peer_server):
    app.config["FEDERATION_MODE"] = "open"
    private_pem, public_pem = keypair(5)
    made = iter(range(1000))

    def fresh() -> Stranger:
        n = next(made)
        stranger = Stranger(peer_server.base, private_pem, public_pem, path=f"/actor{n}")
        peer_server.documents[stranger.path] = {
            "@context": [AS], "id": stranger.actor_id, "type": "Service", "preferredUsername": f"s{n}",
            "inbox": stranger.base + "/inbox", "outbox": stranger.base + "/outbox",
            "publicKey": {"id": stranger.key_id, "owner": stranger.actor_id, "publicKeyPem": public_pem.decode()}}
        return stranger
    return fresh


def _answer(response) -> tuple[int, str]:
    return response.status_code, response.get_data(as_text=True)


def _relayed_reply(peer, in_reply_to: str, number: int) -> dict:
    return peer.activity("Announce", {"id": f"https://writer.example/ap/comments/{number}", "type": "Note",
                                      "attributedTo": "https://writer.example/actor", "inReplyTo": in_reply_to,
                                      "content": "<p>We tried it too.</p>", "published": "2026-01-02T03:04:05Z"})


def _relayed_removal(peer, comment_id: str) -> dict:
    return peer.activity("Announce", {"type": "Delete", "object": comment_id})


def _hidden_notes(people, publish) -> dict[str, int]:
    author = people["author"]

    def draft(title):
        return notes.create_draft(author=author, data=notes.NoteInput(
            title=title, summary="一句话摘要。", body="我们在社区开展外展。", language="zh_Hans", visibility="public"))
    submitted = draft("已提交")
    notes.submit(submitted, by=author, confirm_privacy=True)
    return {"draft": draft("草稿").id, "submitted": submitted.id, "members": publish("members").id}


def _hidden_comments(people, publish) -> dict[str, int]:
    note, members = publish("public"), publish("members")
    author, moderator = people["author"], people["moderator"]
    held = discussion.add_comment(note, by=author, body="Call Li Ming on 13912345678.", confirm_privacy=True)
    shown = discussion.add_comment(note, by=author, body="We tried it too.")
    held_reply = discussion.add_comment(note, by=author, body="Call Li Ming on 13933334444.", confirm_privacy=True,
                                        parent=shown)  # a reply of ours: its thread names no hub
    declined = discussion.add_comment(note, by=author, body="Call Li Ming on 13911112222.", confirm_privacy=True)
    discussion.decline(db.session.get(Comment, declined.id), by=moderator)
    removed = discussion.add_comment(note, by=author, body="We tried it too.")
    discussion.remove_comment(db.session.get(Comment, removed.id), by=moderator)
    on_members = discussion.add_comment(members, by=author, body="We tried it too.")
    db.session.commit()
    assert held.state == CommentState.HELD and on_members.state == CommentState.PUBLISHED
    return {"held": held.id, "held reply": held_reply.id, "declined": declined.id, "removed": removed.id,
            "on a members-only note": on_members.id}


def _probe(client, make, hidden: dict[str, int], kind: str) -> dict[str, tuple[int, str]]:
    """Answer of the door for each hidden id and for one that never existed, each named by ``make``."""
    answers = {}
    for name, number in {**hidden, "never existed": NEVER}.items():
        peer = make()
        answers[name] = _answer(peer.post(client, _naming(peer, kind, number)))
    return answers


def _naming(peer, kind: str, number: int) -> dict:
    if kind == "reply to note":
        return _relayed_reply(peer, OURS.format("notes", number), number)
    if kind == "reply to comment":
        return _relayed_reply(peer, OURS.format("comments", number), number)
    return _relayed_removal(peer, OURS.format("comments", number))


def _same_as_never(answers: dict[str, tuple[int, str]]) -> None:
    never = answers["never existed"]
    assert answers == {name: never for name in answers}, answers


# --- a hub met for the first time ----------------------------------------------------------------

def test_a_stranger_relaying_a_reply_learns_nothing_of_our_hidden_notes(app, client, peer_server, people, publish):
    hidden = _hidden_notes(people, publish)
    answers = _probe(client, _strangers(app, peer_server), hidden, "reply to note")
    _same_as_never(answers)
    assert answers["never existed"][0] == 400 and "not_a_reply_to_our_note" in answers["never existed"][1]


def test_a_stranger_relaying_a_reply_learns_nothing_of_our_hidden_comments(app, client, peer_server, people,
                                                                           publish):
    hidden = _hidden_comments(people, publish)
    _same_as_never(_probe(client, _strangers(app, peer_server), hidden, "reply to comment"))


# --- a known partner -----------------------------------------------------------------------------

def test_a_hub_relaying_a_removal_learns_nothing_of_our_hidden_comments(app, client, make_peer, peer_server, people,
                                                                        publish):
    hidden = _hidden_comments(people, publish)
    partner = make_peer(trust="moderate")
    _same_as_never(_probe(client, lambda: partner, hidden, "removal"))
    _same_as_never(_probe(client, _strangers(app, peer_server), hidden, "removal"))  # and a hub met just now
    inbox.process_pending(app)
    assert db.session.get(Comment, hidden["held"]).removed_at is None
    assert db.session.get(Comment, hidden["on a members-only note"]).removed_at is None


def test_a_partner_relaying_a_reply_learns_nothing_of_our_hidden_comments(app, client, make_peer, people, publish):
    hidden = _hidden_comments(people, publish)
    partner = make_peer(trust="moderate")
    _same_as_never(_probe(client, lambda: partner, hidden, "reply to comment"))


# --- what the note's origin relays is still taken --------------------------------------------------

def _origins_note(app, client, origin) -> Note:
    assert origin.post(client, origin.activity("Create", origin.article())).status_code == 202
    inbox.process_pending(app)
    return db.session.scalar(sa.select(Note).where(Note.origin_peer_id == origin.row.id))


def _relayed(number: int) -> Comment:
    thread = db.session.scalar(sa.select(CommentThread).where(
        CommentThread.remote_id == f"https://writer.example/ap/comments/{number}"))
    db.session.refresh(thread.comment)
    return thread.comment


def test_the_origin_still_relays_replies_to_its_published_note_and_their_removal(app, client, make_peer):
    origin = make_peer(trust="moderate")  # what it relays waits for our moderators: held here
    note = _origins_note(app, client, origin)
    assert origin.post(client, _relayed_reply(origin, note.remote_id, 1)).status_code == 202
    inbox.process_pending(app)
    first = _relayed(1)
    assert first.note_id == note.id and first.state == CommentState.HELD
    # A reply to it (the origin shows it, we hold it) and the writer's withdrawal of it are still taken.
    assert origin.post(client, _relayed_reply(origin, "https://writer.example/ap/comments/1", 2)).status_code == 202
    inbox.process_pending(app)
    assert _relayed(2).note_id == note.id
    removal = _relayed_removal(origin, "https://writer.example/ap/comments/1")
    assert origin.post(client, removal).status_code == 202
    inbox.process_pending(app)
    assert _relayed(1).removed_at is not None and _relayed(2).removed_at is None


def test_a_partner_still_answers_a_published_comment_on_our_public_note(app, client, make_peer, people, publish):
    note = publish("public")
    shown = discussion.add_comment(note, by=people["author"], body="We tried it too.")
    db.session.commit()
    partner = make_peer(trust="moderate")
    reply = {"id": f"{partner.base}/ap/comments/1", "type": "Note", "attributedTo": partner.actor_id,
             "inReplyTo": OURS.format("comments", shown.id), "content": "<p>So did we.</p>"}
    assert partner.post(client, partner.activity("Create", reply)).status_code == 202
    # Relayed instead, it is refused as not coming from the note's origin (we are: the comment is shown).
    relayed = partner.post(client, _relayed_reply(partner, OURS.format("comments", shown.id), 3))
    assert relayed.status_code == 400 and relayed.get_json()["error"] == "not_the_origin"
