"""The conversation across hubs: comments, marks, flags and proposed translations travel.

The note's origin hub keeps the conversation, as threaded fediverse software does (FEP-1b12,
Lemmy, NodeBB, Discourse): a hub whose members comment on, mark or flag a partner's note tells
the origin, and the origin redistributes what it shows to every hub that has the note.

- A comment on a partner's note goes to its origin as ``Create(Note)`` with ``inReplyTo`` the
  Article (or the comment it answers) and ``attributedTo`` the sending hub (authors are not
  actors: the commenter's pseudonym travels in ``peh:authorPseudonym``, as for notes). The
  origin stores it as a comment from that hub, sanitised and privacy-checked; it waits for a
  moderator unless the admin trusts that hub to publish, and always when the check finds
  something. Once shown, the origin sends it to every other hub that has the note as an
  ``Announce`` of the Note; an edit is announced again, a removal as ``Delete``.
- "We tried this too" and "useful" go to the origin as ``Like`` with ``peh:kind``: the origin
  counts one per hub and kind (the first member to mark sends it, the last to take it back
  sends the ``Undo``) and publishes its totals in the Article (``peh:marks``), re-sending the
  Article when they change, so every hub shows the origin's totals.
- A flag goes to the origin's moderators as ``Flag`` with the reason and the reporting hub as
  actor, never anything about the person who reported it (not even their words).
- A translation made here of a partner's note is offered to the origin (``Offer`` of the
  translated Article); the origin's moderators review it like a note, and once accepted it
  travels inside the original's ``contentMap`` like the origin's own translations.

Visibility rules stay those of the note: a hub that may not read a note may not comment on
it, mark it or hear about its comments.
"""
from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from hub import events
from hub.extensions import db
from hub.federation import activities, actor, delivery, remote_notes, topics
from hub.federation.activities import InvalidActivity, Unwanted, id_of, same_host
from hub.federation.http import request_host
from hub.models.base import as_id, utcnow
from hub.models.events import Event
from hub.models.federation import Delivery, PeerHub
from hub.models import (LANGUAGES, Comment, CommentState, CommentThread, Flag, FlagOrigin, Mark, MarkTotal, Note, NoteState, RemoteMark,
                        Visibility)
from hub.services import accounts, discussion, notes, redaction, screening
from hub.services.visibility import Audience, goes_with_original, may_read
from hub.text import html_text
from hub.text_safety import UnsafeName, clean_name, cut
from hub.worker import DatabaseCursor

CONSUMER_NAME = discussion.CONVERSATION_CONSUMER
MARK_KINDS = notes.MARK_KINDS
MAX_COMMENT_HTML = 20_000
FLAG_REASONS = notes.FLAG_REASONS

S = NoteState


# --- ids ---------------------------------------------------------------------------------------

comment_object_id = actor.comment_object_id  # the ActivityPub id of a comment written on this hub


def thread_of(comment: Comment) -> CommentThread | None:
    """Return the comment's place in the conversation (None: a local comment answering nobody)."""
    return comment.thread


def comment_ap_id(comment: Comment) -> str:
    """Return a comment's ActivityPub id: ours, or the one of the hub where it was written."""
    thread = thread_of(comment)
    return thread.remote_id if thread is not None and thread.remote_id else comment_object_id(comment.id)


def written_here(comment: Comment) -> bool:
    """Tell whether a comment was written on this hub (its author may since have left)."""
    thread = thread_of(comment)
    return thread is None or thread.peer_id is None


def note_ap_id(note: Note) -> str:
    """Return a note's ActivityPub id: ours, or its origin's."""
    return note.remote_id if note.origin_peer_id is not None and note.remote_id else actor.note_object_id(note.id)


def _fresh(kind: str) -> str:
    return f"{actor.actor_id()}#{kind}/{secrets.token_hex(12)}"


# --- comments as Notes -------------------------------------------------------------------------

def _addressing(note: Note, recipients: Sequence[str]) -> dict[str, list[str]]:
    """Address a comment like its note: the public, or only the named hubs."""
    if note.visibility == Visibility.PUBLIC.value:
        return {"to": [actor.PUBLIC], "cc": sorted(set(recipients))}
    return {"to": sorted(set(recipients)), "cc": []}


def comment_to_note(comment: Comment, *, recipients: Sequence[str],
                    changed_at: dt.datetime | None = None) -> dict[str, Any]:
    """Map a shown comment (written here or relayed) to an ActivityStreams Note.

    ``changed_at`` is when it was edited here (its writer's edit, a moderator's redaction, a partner's
    relayed edit): receivers keep the newest version by ``updated``, so an edit must be later than
    what they hold. ``peh:editedAt`` is when its writer last changed it, shown beside it.
    """
    thread = thread_of(comment)
    parent = thread.parent if thread is not None else None
    remote = thread is not None and thread.peer_id is not None
    pseudonym = thread.author_pseudonym if remote else (comment.author.pseudonym if comment.author else "")
    version = thread.remote_updated_at if remote and thread.remote_updated_at else comment.created_at
    edited_here = comment.edited_at is not None and not remote
    if edited_here:  # its writer's edit here: newer than any version the others hold
        version = max(comment.edited_at, version + dt.timedelta(milliseconds=1))
    if changed_at is not None:
        version = max(changed_at, version + dt.timedelta(milliseconds=1))
    edited = {"peh:editedAt": activities.iso(comment.edited_at, precise=True)} if comment.edited_at else {}
    return {
        "id": comment_ap_id(comment),
        "type": "Note",
        "attributedTo": thread.peer.actor_id if remote else actor.actor_id(),
        "inReplyTo": comment_ap_id(parent) if parent is not None else note_ap_id(comment.note),
        "context": note_ap_id(comment.note),
        **_addressing(comment.note, recipients),
        "content": comment.body_html,
        "mediaType": "text/html",
        "published": activities.iso(comment.created_at),
        "updated": activities.iso(version, precise=changed_at is not None or edited_here),
        "peh:authorPseudonym": pseudonym,
        **edited,  # its writer changed it then: every hub marks it "edited"
    }


def _activity(kind: str, obj: Any, *, to: list[str], cc: list[str] | None = None,
              activity_id: str | None = None, **extra: Any) -> dict[str, Any]:
    activity = {"@context": activities.CONTEXT, "id": activity_id or _fresh(kind.lower()), "type": kind,
                "actor": actor.actor_id(), "to": to, "cc": cc or [], "object": obj,
                "published": activities.iso(utcnow(), precise=True)}
    activity.update(extra)
    return activity


# --- what the hub sends (a consumer of the event log) ------------------------------------------

def _origin(note: Note) -> PeerHub | None:
    """Return the origin hub of a partner's note, if it may still hear from us: not blocked, and on the allow-list
    in allow-list mode. Otherwise our members' comments, marks, reports and translations of it stay here
    (withdrawals still go: they only remove)."""
    peer = db.session.get(PeerHub, note.origin_peer_id) if note.origin_peer_id else None
    return peer if peer is not None and not peer.blocked and delivery.listed(peer) else None


def _to_origin(note: Note, activity: dict[str, Any], *, event_id: int, may_have_arrived: bool = False) -> None:
    peer = _origin(note)
    if peer is not None:
        delivery.enqueue(peer, delivery.inbox_of(peer), activity, event_id=event_id,
                         may_have_arrived=may_have_arrived)


def _to_thread(note: Note, build, *, event_id: int, exclude: PeerHub | None = None) -> None:
    """Queue ``build(recipients)`` to every hub that has ``note`` and may still read it, but ``exclude``
    (one copy per shared inbox)."""
    hubs = [p for p in delivery.holders(note) if exclude is None or p.id != exclude.id]
    for inbox, group in delivery.by_inbox(hubs).items():
        delivery.enqueue(group[0], inbox, build([p.actor_id for p in group]), event_id=event_id)


def _drop_older(object_id: str, *, event_id: int, keep: str | None = None) -> None:
    """Drop the versions of a comment still waiting (or dead-lettered) that ``event_id`` follows, for every inbox
    but ``keep``.

    The newer activity brings the comment as it stands, or removes it: text its writer took back or a
    moderator cut out never leaves late (hub.federation.delivery.supersede). Every inbox: also those
    the newer one does not go to, a hub blocked since (its dead letters go when an admin sends them
    again after an unblock) or one that may no longer read the note (taken down, narrowed); such a hub
    gets the comment as it stands once it has the note again, or never. The one exception is ``keep``,
    the inbox of the hub the comment was written on when the newer version is a moderator's edit it
    does not take (:func:`_kept_for_its_writer`).
    """
    delivery.supersede(object_id, None, event_id=event_id, kinds=("Create", "Update", "Announce"), but=keep)


def _kept_for_its_writer(comment: Comment, event: Event) -> str | None:
    """Return the inbox of the hub ``comment`` was written on when what still waits for it must go all the same.

    A moderator here cut personal data out of a partner member's comment, as cuts its hub takes (an
    Announce queued for it), then changed the text more: the newer version stays here and on the
    other hubs (discussion.Reach.NOT_WRITER), and the cut still waiting for the writer's hub (it was
    down, or slow) must still reach it, or it keeps what the moderator removed.

    The same when an admin blocks the writer's hub, and when the block ends (``keep_writer``: the comment is
    taken down here and brought back, not changed): the cut waiting for it (dead-lettered by the block) is what
    it must still get, when an admin sends its dead letters again (hub.federation.delivery.retry_dead).
    The comment brought back is not sent to it (it has the comment), so nothing else would bring it the cut,
    and no copy of the cut is kept anywhere but in that delivery.
    """
    thread = thread_of(comment)
    if thread is None or thread.peer is None:
        return None
    if event.payload.get("keep_writer"):
        return delivery.inbox_of(thread.peer)
    if (not event.payload.get("redacted") or not thread.edited_here
            or comment.removed_at is not None or not delivery.shared_with_hubs(comment.note)):
        return None
    return delivery.inbox_of(thread.peer)


def sent_to_its_writer(comment: Comment) -> bool:
    """Tell whether the partner hub ``comment`` was written on is sent our changes of it now: it is one of the hubs
    that have its note and may read it (not blocked, on the allow-list in allow-list mode, following).

    A moderator's cut made while it is not never reaches it, but for a hub off the allow-list, which gets the
    newest cut once it is listed again (:func:`_hold_for_its_writer`); the text here keeps the cut marked all the
    same, so that a later cut, sent once it is among them again, brings both (:func:`_send_comment`).
    """
    return comment.id in sent_to_their_writers([comment])


def sent_to_their_writers(comments: Sequence[Comment]) -> set[int]:
    """Return the ids of those ``comments`` whose writer's hub is sent our changes of them now (as
    :func:`sent_to_its_writer`): the writer's hub is among the note's holders (hub.federation.delivery.holders_of,
    read once for all the notes)."""
    written = [(c, thread.peer_id) for c in comments
               if (thread := thread_of(c)) is not None and thread.peer_id is not None and c.note is not None]
    if not written:
        return set()
    holding = delivery.holders_of(list({c.note_id: c.note for c, _ in written}.values()))
    return {c.id for c, peer_id in written if any(peer.id == peer_id for peer in holding[c.note_id])}


def _on_comment_shown(event: Event) -> None:
    comment = db.session.get(Comment, event.subject_id)
    if comment is not None:
        _send_comment(comment, event, changed=event.kind == "comment.updated")


def _on_renamed(event: Event) -> None:
    """Send a member's comments again with their new pseudonym, to the hubs that have them (as an edit: newer).

    Partner hubs keep the pseudonym of each comment (``CommentThread.author_pseudonym``); of a note
    they keep none (hub.federation.remote_notes), so the notes themselves need not travel again.
    """
    for comment in db.session.scalars(sa.select(Comment).where(Comment.author_id == event.subject_id)):
        _send_comment(comment, event, changed=True)


def _send_comment(comment: Comment, event: Event, *, changed: bool) -> None:
    """Tell the hubs that have (or should have) ``comment``'s note of the comment, new or ``changed``."""
    _drop_older(comment_object_id(comment.id), event_id=event.id, keep=_kept_for_its_writer(comment, event))
    if comment.removed_at is not None or not delivery.shared_with_hubs(comment.note):
        return
    if comment.state != CommentState.PUBLISHED:
        return
    thread = thread_of(comment)
    note = comment.note
    changed_at = event.at if changed else None
    if note.origin_peer_id is not None:
        if written_here(comment):  # our member's comment on a partner's note: tell its origin
            origin = _origin(note)
            if origin is not None:
                obj = comment_to_note(comment, recipients=[origin.actor_id], changed_at=changed_at)
                verb = "Update" if changed else "Create"
                _to_origin(note, _activity(verb, obj, to=obj["to"], cc=obj["cc"],
                                           activity_id=f"{obj['id']}#{verb.lower()}-{event.id}"), event_id=event.id)
        return
    if note.translation_of_id is None:  # one of our notes: the origin relays to every hub that has it
        # The hub that wrote it has its text already, unless our moderator cut personal data out of it:
        # then it hears too, as it takes a change that only replaced spans by the marker
        # (redaction.only_cuts). A text a moderator here changed more (edited_here) stays this hub's own.
        source = thread.peer if thread is not None and (
            not event.payload.get("redacted") or thread.edited_here) else None
        def build(to: list[str]) -> dict[str, Any]:
            return _activity("Announce", comment_to_note(comment, recipients=to, changed_at=changed_at),
                             to=_addressing(note, to)["to"], cc=_addressing(note, to)["cc"],
                             activity_id=f"{comment_object_id(comment.id)}#announce-{event.id}")

        _to_thread(note, build, event_id=event.id, exclude=source)
        if source is None and event.payload.get("redacted"):
            _hold_for_its_writer(comment, build, event_id=event.id)


def _writers_hub(comment: Comment) -> PeerHub | None:
    thread = thread_of(comment)
    return thread.peer if thread is not None else None


def _waits_for_the_list(peer: PeerHub | None) -> bool:
    """Tell whether ``peer`` is off the allow-list (not blocked): what it would take waits for it to be listed."""
    return peer is not None and not peer.blocked and not delivery.listed(peer)


def why_not_sent_to_its_writer(comment: Comment) -> str:
    """Say why the partner hub ``comment`` was written on is not sent our changes of it (when
    :func:`sent_to_its_writer` is false): ``"note"``, the note is no longer shared with hubs; ``"unlisted"``, that
    hub is off the allow-list, and a cut waits for it (:func:`_hold_for_its_writer`); ``"hub"``, it is blocked,
    does not follow us, or may not read the note."""
    if not delivery.shared_with_hubs(comment.note):
        return "note"
    return "unlisted" if _waits_for_the_list(_writers_hub(comment)) else "hub"


def _hold_for_its_writer(comment: Comment, build, *, event_id: int) -> None:
    """Keep a moderator's cut of a partner member's comment for the hub it was written on while that hub is off the
    allow-list, but has the note and would be among its readers once listed again: it gets it then (the
    newest cut only: a later one replaces it, :func:`_drop_older`), and keeps what was cut out until it does."""
    writer = _writers_hub(comment)
    if not _waits_for_the_list(writer):
        return
    if writer.id not in {p.id for p in delivery.receipts(comment.note)}:
        return
    delivery.enqueue(writer, delivery.inbox_of(writer), build([writer.actor_id]), event_id=event_id, held=True)


def _on_comment_removed(event: Event) -> None:
    comment = db.session.get(Comment, event.subject_id)
    if comment is None:
        # Deleted with its writer's account (hub.services.leaving) in the transaction that recorded
        # the event: only a comment written here is deleted so, and its id is ours.
        if not event.payload.get("written_here"):
            return
        note, ours, thread, held_again = db.session.get(Note, event.payload.get("note_id") or -1), True, None, False
        object_id = comment_object_id(event.subject_id)
    else:
        note, ours, thread = comment.note, written_here(comment), thread_of(comment)
        object_id = comment_ap_id(comment)
        # A comment held again (a partner's edit the privacy check flags) is withdrawn from the other
        # hubs while a moderator looks, but not from the hub that wrote it: there it is its member's
        # comment, and a Delete would remove it for good. A removed comment goes everywhere (FEP-1b12).
        held_again = thread is not None and thread.peer_id is not None and (
            comment.removed_at is None or bool(event.payload.get("keep_writer")))
    _drop_older(comment_object_id(event.subject_id), event_id=event.id,
                keep=_kept_for_its_writer(comment, event) if comment is not None else None)
    if note is None:
        return
    deletion = {"id": object_id, "type": "Tombstone", "formerType": "Note"}
    activity_id = f"{comment_object_id(event.subject_id)}#delete-{event.id}"
    if note.origin_peer_id is not None:
        origin = db.session.get(PeerHub, note.origin_peer_id)
        if ours and origin is not None:  # a removal only removes: it goes to a blocked origin too
            delivery.enqueue(origin, delivery.inbox_of(origin), _activity("Delete", deletion, to=[],
                             activity_id=activity_id), event_id=event.id)
    elif note.translation_of_id is None:
        exclude = thread.peer if held_again else None
        # Every hub that has the note has the comment, whether it still follows or is blocked since.
        hubs = [p for p in delivery.receipts(note) if exclude is None or p.id != exclude.id]
        for inbox, group in delivery.by_inbox(hubs).items():
            delivery.enqueue(group[0], inbox, _activity("Delete", deletion, to=[p.actor_id for p in group],
                                                        activity_id=activity_id), event_id=event.id)


def _like_prefix(note: Note, kind: str) -> str:
    return f"{actor.base_url()}/ap/marks/{note.id}/{kind}#"


def _last_sent(prefix: str) -> Delivery | None:
    query = sa.select(Delivery).where(Delivery.activity_id.startswith(prefix)).order_by(Delivery.id.desc())
    return db.session.scalars(query.limit(1)).first()


def _on_mark_changed(event: Event) -> None:
    note = db.session.get(Note, event.subject_id)
    kind = event.payload.get("mark")
    if not delivery.shared_with_hubs(note) or kind not in MARK_KINDS:
        return
    if note.origin_peer_id is None:
        if note.translation_of_id is None:  # our totals changed: every hub shows them
            delivery.queue_article(note, "Update", activity_id=f"{actor.note_object_id(note.id)}#marks-{event.id}",
                                   peers=delivery.audience(note), event_id=event.id, at=event.at)
        return
    marked = db.session.scalar(sa.select(sa.func.count()).select_from(Mark).where(
        Mark.note_id == note.id, Mark.kind == kind)) or 0
    prefix = _like_prefix(note, kind)
    last = _last_sent(prefix)
    told = last is not None and last.activity.get("type") == "Like"
    target = note_ap_id(note)
    if marked and not told:
        _to_origin(note, _activity("Like", target, to=[_origin_actor(note)], **{"peh:kind": kind},
                                   activity_id=f"{prefix}like-{event.id}"), event_id=event.id)
    elif not marked and told:
        _to_origin(note, _activity("Undo", last.activity, to=last.activity.get("to", []),
                                   activity_id=f"{prefix}undo-{event.id}"), event_id=event.id)


def _origin_actor(note: Note) -> str:
    peer = db.session.get(PeerHub, note.origin_peer_id)
    return peer.actor_id if peer else ""


def _on_flag(event: Event) -> None:
    flag = db.session.get(Flag, event.subject_id)
    if flag is None or flag.note is None or flag.note.origin_peer_id is None:
        return
    if db.session.get(FlagOrigin, flag.id) is not None:
        return  # a flag that came from a partner is not sent on
    note = flag.note
    target = [note_ap_id(note)] + ([comment_ap_id(flag.comment)] if flag.comment is not None else [])
    # Only the reason and the hub: the person who reported, and their own words, stay here.
    activity = _activity("Flag", target, to=[_origin_actor(note)], activity_id=f"{actor.base_url()}/ap/flags/"
                         f"{secrets.token_hex(12)}", content=flag.reason, **{"peh:reason": flag.reason})
    _to_origin(note, activity, event_id=event.id)


def _on_note_event(event: Event) -> None:
    note = db.session.get(Note, event.subject_id)
    if note is None or note.translation_of_id is None or note.original is None:
        return
    original = note.original
    if note.origin_peer_id is None and original.origin_peer_id is not None:
        # Our translation of a partner's note: offer it to the origin (once per revision published). An
        # older offer not sent yet carries text changed since (personal data a moderator cut out), or
        # a translation taken down: it goes no more. One the origin may have is withdrawn when the
        # translation no longer goes with the note (taken down, deleted, narrowed to our members).
        offered = _offer_standing(note)
        delivery.supersede(actor.note_object_id(note.id), None, event_id=event.id, kinds=("Offer",))
        if event.kind in ("note.published", "note.updated") and _goes_to_origin(note, original):
            # One it replaces may have arrived (on the wire, or dead after a timeout): the new one says so, or
            # a withdrawal after it is refused would not go where the older one is.
            _offer_translation(note, original, event, replacing_standing=offered)
        elif offered:
            _withdraw_translation(note, original, event)
    elif note.origin_peer_id is not None and original.origin_peer_id is None and delivery.shared_with_hubs(original):
        # A partner's translation of our note, accepted or taken down here: the original travels again.
        delivery.queue_article(original, "Update",
                               activity_id=f"{actor.note_object_id(original.id)}#translation-{event.id}",
                               peers=delivery.audience(original), event_id=event.id, at=event.at)


def _goes_to_origin(translation: Note, original: Note) -> bool:
    """Tell whether our translation of a partner's note may be with its origin: published for the note's readers
    (one a moderator narrowed to our members never leaves this hub), the note published here."""
    return (translation.state == S.PUBLISHED.value and delivery.shared_with_hubs(original)
            and goes_with_original(translation, original))


def _offer_standing(translation: Note) -> bool:
    """Tell whether the origin may hold our translation: since the last withdrawal of it queued, an Offer was
    sent, is waiting (maybe on its way right now), or was dead-lettered after a try the origin may have read
    (a timeout: :attr:`Delivery.may_have_arrived`), or was one of those and taken out of the queue since
    (``dropped``: hub.federation.delivery.drop). One refused each time it was tried never got there."""
    rows = db.session.execute(sa.select(Delivery.activity, Delivery.state, Delivery.may_have_arrived).where(
        delivery.of_object(actor.note_object_id(translation.id))).order_by(Delivery.id.desc()))
    for activity, state, arrived in rows:
        if activity.get("type") == "Delete":
            return False
        if activity.get("type") == "Offer" and (state in ("sent", "pending") or arrived):
            return True
    return False


def _withdraw_translation(translation: Note, original: Note, event: Event) -> None:
    """Tell the origin that our translation it was offered is gone (a Delete of it, as for any object of ours):
    it drops it, from readers and from its moderators' queue. A blocked origin too: it only removes."""
    origin = db.session.get(PeerHub, original.origin_peer_id)
    if origin is None:
        return
    object_id = actor.note_object_id(translation.id)
    tombstone = {"id": object_id, "type": "Tombstone", "formerType": "Article"}
    delivery.enqueue(origin, delivery.inbox_of(origin), _activity(
        "Delete", tombstone, to=[origin.actor_id], activity_id=f"{object_id}#withdraw-{event.id}"), event_id=event.id)


def _offer_translation(translation: Note, original: Note, event: Event, *, replacing_standing: bool = False) -> None:
    """Offer our published translation of a partner's note to its origin, while it reaches the note's readers
    (``replacing_standing``: an earlier Offer it replaces may have arrived)."""
    origin = _origin(original)
    if origin is None:
        return
    article = {
        "id": actor.note_object_id(translation.id), "type": "Article", "attributedTo": actor.actor_id(),
        **_addressing(original, [origin.actor_id]),
        "name": translation.title, "summary": activities.summary_html(translation.summary),
        "content": translation.body_html,
        "contentMap": {activities.language_tag(translation.language): translation.body_html},
        "nameMap": {activities.language_tag(translation.language): translation.title},
        "mediaType": "text/html", "url": actor.note_page_url(translation.id),
        "published": activities.iso(translation.published_at), "updated": activities.iso(translation.updated_at),
        "peh:translationOf": original.remote_id,
        "peh:authorPseudonym": translation.author.pseudonym if translation.author else "",
    }
    _to_origin(original, _activity("Offer", article, to=[origin.actor_id], target=original.remote_id,
                                   activity_id=f"{article['id']}#offer-{event.id}"), event_id=event.id,
               may_have_arrived=replacing_standing)


HANDLED_EVENTS = {
    "comment.added": _on_comment_shown,
    "comment.updated": _on_comment_shown,  # an edit, or personal data a moderator removed
    "comment.removed": _on_comment_removed,
    "user.renamed": _on_renamed,  # a member's pseudonym, on their comments at partner hubs
    "mark.changed": _on_mark_changed,
    "flag.added": _on_flag,
    "note.published": _on_note_event,
    "note.updated": _on_note_event,
    "note.unpublished": _on_note_event,
    "note.deleted": _on_note_event,
}


def apply_event(event: Event) -> None:
    """Turn one event into the activities the conversation needs (nothing for other events)."""
    handler = HANDLED_EVENTS.get(event.kind)
    if handler is not None:
        handler(event)
    topics.apply_event(event)


class ConversationConsumer(delivery.FederationConsumer):
    """The event-log consumer of the conversation, with a cursor of its own (and the same claims)."""

    name = CONSUMER_NAME
    apply_event = staticmethod(apply_event)

    def __init__(self) -> None:
        super().__init__()
        self.cursor = DatabaseCursor(CONSUMER_NAME)


# --- what the hub receives ----------------------------------------------------------------------

def _local_note_from_id(ref: str | None) -> Note | None:
    """Return our note (an original) for its ActivityPub id or page URL."""
    base = actor.base_url()
    for prefix in (base + "/ap/notes/", base + "/notes/"):
        if isinstance(ref, str) and ref.startswith(prefix):
            number = as_id(ref[len(prefix):])
            return db.session.get(Note, number) if number is not None else None
    return None


def _comment_from_id(ref: str | None) -> Comment | None:
    """Return a comment known here by its ActivityPub id (ours, or one received)."""
    if not isinstance(ref, str) or not ref:
        return None
    if "#" not in ref and (number := actor.own_number(ref, "comments")) is not None:
        return db.session.get(Comment, number)
    thread = db.session.scalar(sa.select(CommentThread).where(CommentThread.remote_id == ref))
    return thread.comment if thread is not None else None


def _may_read(peer: PeerHub, note: Note) -> bool:
    """Tell whether ``peer`` may read one of our notes (the one audience rule, as for the outbox)."""
    return may_read(note, Audience.hub(peer))


def _not_ours() -> Unwanted:
    # One answer whether the note does not exist, is a draft, is for members only, was deleted or is
    # another hub's: a partner must not learn which of our note ids exist.
    return Unwanted("not_a_reply_to_our_note", "only replies to practice notes of this hub that you may read "
                                               "(or to their comments) are accepted")


def _reply_target(in_reply_to: Any) -> tuple[Note, Comment | None]:
    """Return the note a reply belongs to and the comment it answers (None: the note itself)."""
    ref = id_of(in_reply_to)
    comment = _comment_from_id(ref)
    if comment is not None and comment.removed_at is None:
        return comment.note, comment
    note = _local_note_from_id(ref) or (remote_notes.by_remote_id(ref) if ref else None)
    if note is None:
        raise _not_ours()
    return note, None


def _shown_to(peer: PeerHub, comment: Comment) -> bool:
    """Tell whether ``peer`` may answer or flag a comment: shown here, or its own hub's (it shows it there)."""
    if comment.removed_at is not None:
        return False
    thread = thread_of(comment)
    # A hub met for the first time (no id yet) wrote nothing here: our own comments' threads have no hub either.
    return comment.state == CommentState.PUBLISHED or (
        thread is not None and peer.id is not None and thread.peer_id == peer.id)


def _known_to(peer: PeerHub, comment: Comment) -> bool:
    """Tell whether ``peer`` may know the comment exists: shown to it, and under a note of ours only if it may
    read that note (else it is answered as a comment that never existed)."""
    note = comment.note
    return note is not None and _shown_to(peer, comment) and (note.origin_peer_id is not None or _may_read(peer, note))


def _is_origin(peer: PeerHub, note: Note) -> bool:
    """Tell whether ``peer`` is the hub ``note`` comes from (never for our own notes, nor for a hub met just now)."""
    return peer.id is not None and note.origin_peer_id == peer.id


def _check_comment_object(peer: PeerHub, obj: Any) -> tuple[Note, Comment | None]:
    """Check a comment sent directly by the hub where it was written; return its note and parent."""
    if not isinstance(obj, dict) or obj.get("type") != "Note":
        raise Unwanted("unsupported_object", "only Notes replying to a practice note are accepted")
    if not isinstance(obj.get("id"), str) or len(obj["id"]) > 480 or not same_host(obj["id"], peer.actor_id):
        raise Unwanted("origin_mismatch", "the Note's id must be on the sending hub's host")
    attributed = id_of(obj.get("attributedTo"))
    if attributed is not None and not same_host(attributed, peer.actor_id):
        raise Unwanted("origin_mismatch", "the Note is attributed to another hub")
    note, parent = _reply_target(obj.get("inReplyTo"))
    if note.origin_peer_id is not None or not _may_read(peer, note) or (
            parent is not None and not _shown_to(peer, parent)):
        raise _not_ours()
    _check_same_thread(obj["id"], note)
    return note, parent


def _own_comment_id(ref: str) -> int | None:
    """Return the number of a comment id of this hub (``…/ap/comments/<n>``), else None."""
    return actor.own_number(ref, "comments") if "#" not in ref else None


def _check_own_relayed(object_id: str, note: Note) -> Comment | None:
    """Return our member's comment the note's origin relays back (a redaction), or None for another hub's."""
    number = _own_comment_id(object_id)
    if number is None:
        return None
    comment = db.session.get(Comment, number)
    if comment is None or comment.note_id != note.id or not written_here(comment):
        raise Unwanted("comment_of_another_note", "no comment of this hub with this id is under that note")
    return comment


def _check_same_thread(object_id: str, note: Note) -> None:
    """Refuse a comment whose id is known here under another note (its writer's hub reused the id)."""
    thread = db.session.scalar(sa.select(CommentThread).where(CommentThread.remote_id == object_id))
    if thread is not None and (thread.comment is None or thread.comment.note_id != note.id):
        raise Unwanted("comment_of_another_note", "a comment with this id is known here under another note: "
                                                  "give a new comment a new id")


def _check_relayed(peer: PeerHub, obj: Any) -> tuple[Note, Comment | None]:
    """Check a comment the origin of a note relays (Announce); return the note and the parent."""
    if not isinstance(obj, dict) or obj.get("type") != "Note" or not isinstance(obj.get("id"), str) \
            or len(obj["id"]) > 480 or not same_host(obj["id"]):
        raise Unwanted("unsupported_object", "only Notes in a note's conversation are announced here")
    note, parent = _reply_target(obj.get("inReplyTo"))
    if parent is not None and not _known_to(peer, parent):
        raise _not_ours()  # a comment held, declined or under a note it may not read: as one that never was
    if not _is_origin(peer, note):
        if note.origin_peer_id is None and not _may_read(peer, note):
            raise _not_ours()  # of our notes, only those it may read are known to it
        raise _not_the_origin()
    _check_own_relayed(obj["id"], note)
    _check_same_thread(obj["id"], note)
    return note, parent


def check_create(activity: dict[str, Any], peer: PeerHub) -> None:
    """Door check of a Create or Update of a Note (a comment)."""
    _check_comment_object(peer, activity.get("object"))
    _require_text(activity["object"])


def _require_text(obj: dict[str, Any]) -> None:
    """Refuse a comment with nothing to read once sanitised (as an Article with no text is refused)."""
    if not _sanitized(obj)[1].strip():
        raise Unwanted("empty_comment", "the Note's content (an HTML string) has no text once sanitised")


def check_announce(activity: dict[str, Any], peer: PeerHub) -> None:
    """Door check of an Announce: a comment, or its removal, relayed by the note's origin."""
    obj = activity.get("object")
    if isinstance(obj, dict) and obj.get("type") == "Delete":
        _relayed_deletion_target(peer, obj)
    else:
        _check_relayed(peer, obj)
        _require_text(obj)


def _not_the_origin() -> Unwanted:
    return Unwanted("not_the_origin", "only the hub a note comes from relays its conversation")


def _relayed_deletion_target(peer: PeerHub, obj: dict[str, Any]) -> Comment | None:
    """Return the comment the note's origin withdraws, or None: unknown here, or not one ``peer`` may know of
    (answered as one that never existed: a hub must not learn which of our comment ids exist)."""
    comment = _comment_from_id(id_of(obj.get("object")))
    if comment is not None and comment.note is not None and not _is_origin(peer, comment.note):
        if not _known_to(peer, comment):
            return None
        raise _not_the_origin()
    return comment


def _sanitized(obj: dict[str, Any]) -> tuple[str, str]:
    content = obj.get("content") if isinstance(obj.get("content"), str) else ""
    # Bounded as a partner's note is (hub.federation.activities): its writer's full text stays at its origin.
    html = activities.sanitize_html(cut(content, MAX_COMMENT_HTML))
    return html, cut(html_text(html), discussion.MAX_LENGTH)


def _pseudonym(value: Any) -> str:
    """Return a partner's pseudonym as safe to show as our members' names, else "" (shown as "someone")."""
    try:
        name = cut(clean_name(value), 60) if isinstance(value, str) else ""  # a name, not a paragraph
    except UnsafeName:
        return ""  # invisible or direction-changing characters: never shown
    # A name with a phone number or an ID number in it is no pseudonym: nobody checked it before it showed.
    # Nor may a partner's member pass for our staff or for someone who left ("管理员", "Moderat0r"), nor for
    # one of our members ("peer" or "pеer", Cyrillic е, beside our "peer"): such a name is shown as no name.
    return "" if screening.screen({"pseudonym": name}) or accounts.is_reserved_pseudonym(name) \
        or accounts.looks_like_a_member(name) else name


def store_comment(peer: PeerHub, obj: dict[str, Any], note: Note, parent: Comment | None) -> Comment | None:
    """Create or update a comment from ``peer`` (its writer, or the note's origin relaying it).

    The comment goes through the same check as our members' (hub.services.discussion): shown at
    once only when ``peer`` is trusted to publish and the privacy check finds nothing.
    """
    html, text = _sanitized(obj)
    if not text.strip():
        raise InvalidActivity("the comment is empty")
    # The version by its origin's clock, as it said it (not capped at our now): versions compare with it alone.
    updated = activities.parse_time(obj.get("updated")) or activities.parse_time(obj.get("published")) or utcnow()
    thread = db.session.scalar(sa.select(CommentThread).where(CommentThread.remote_id == obj["id"]))
    if thread is not None:
        if thread.peer_id != peer.id:
            raise InvalidActivity("this comment came from another hub")
        if thread.comment is None or thread.comment.note_id != note.id:
            # Never move a comment (or bring a withdrawn one back) under another note: a hub that reused
            # an id would put its new words where other readers, and no moderator here, see them.
            raise InvalidActivity("a comment with this id is known here under another note")
        if thread.remote_updated_at and updated <= thread.remote_updated_at:
            return None  # an older or the same version
        # its writer's newer version replaces what a moderator here made of it
        thread.edited_here = thread.cut_while_held = False
        if thread.comment.removed_at is not None:
            if not thread.withdrawn:
                return None  # our moderators removed it: a partner's version does not bring it back
            thread.withdrawn = False
            comment = discussion.restore_remote_comment(thread.comment, body=text, body_html=html,
                                                        trusted=peer.trust == "publish")
        else:
            comment = discussion.update_remote_comment(thread.comment, body=text, body_html=html)
    else:
        written = min(activities.parse_time(obj.get("published")) or utcnow(), utcnow())
        comment = discussion.receive_remote_comment(note, body=text, body_html=html, trusted=peer.trust == "publish",
                                                    created_at=written)
        thread = CommentThread(comment_id=comment.id, peer_id=peer.id, remote_id=obj["id"],
                               parent_id=parent.id if parent is not None else None,
                               origin_host=request_host(obj["id"]))
        db.session.add(thread)
    thread.author_pseudonym = _pseudonym(obj.get("peh:authorPseudonym"))
    thread.remote_updated_at = updated
    edited = activities.parse_time(obj.get("peh:editedAt"))
    if edited is not None:  # its writer changed it: marked "edited" here as on its hub
        comment.edited_at = min(edited, utcnow())
    return comment


def on_comment(peer: PeerHub, activity: dict[str, Any], item: Any) -> str | None:
    """Handle Create/Update of a Note: a comment on one of our notes, from the hub where it was written."""
    obj = activity.get("object")
    note, parent = _check_comment_object(peer, obj)
    store_comment(peer, obj, note, parent)
    return None


def on_announce(peer: PeerHub, activity: dict[str, Any], item: Any) -> str | None:
    """Handle an Announce from a note's origin: a comment in its conversation, or its removal."""
    obj = activity.get("object")
    if isinstance(obj, dict) and obj.get("type") == "Delete":
        comment = _relayed_deletion_target(peer, obj)
        if comment is not None:
            _remove(comment)
        return None
    note, parent = _check_relayed(peer, obj)
    own = _check_own_relayed(obj["id"], note)
    if own is not None:
        _take_redaction(own, obj)
    else:
        store_comment(peer, obj, note, parent)
    return None


def _take_redaction(comment: Comment, obj: dict[str, Any]) -> None:
    """Apply the origin's redaction of our member's comment on its note, or refuse anything else."""
    html, text = _sanitized(obj)
    if comment.removed_at is not None or redaction.same_text(text, html_text(comment.body_html)):
        return  # removed here, or the text we sent: nothing to take
    if not redaction.only_cuts(html_text(comment.body_html), text):
        raise InvalidActivity("the note's origin may only cut personal data out of our member's comment")
    discussion.apply_redaction_from_origin(comment, body=text, body_html=html)


def _remove(comment: Comment) -> None:
    """Remove a comment a partner hub withdrew (see CommentThread.withdrawn)."""
    if comment.removed_at is None:
        comment.removed_at = utcnow()
        thread = thread_of(comment)
        if thread is not None:
            thread.withdrawn = True
        if comment.state == CommentState.PUBLISHED:  # a held one was never shown: nobody else has it
            events.record("comment.removed", subject_type="comment", subject_id=comment.id,
                          note_id=comment.note_id, origin="remote")


def delete_comment(peer: PeerHub, object_id: str) -> bool:
    """Apply a Delete of a comment by the hub it came from or the note's origin; tell whether it was one."""
    comment = _comment_from_id(object_id)
    if comment is None:
        return False
    if not _may_withdraw(peer, comment):
        raise InvalidActivity("a hub can only delete its own comments, or those under its own notes")
    _remove(comment)
    return True


def may_delete_comment(peer: PeerHub, object_id: str) -> bool:
    """Tell whether ``object_id`` is a comment ``peer`` may withdraw (the inbox's check at the door)."""
    comment = _comment_from_id(object_id)
    return comment is not None and _may_withdraw(peer, comment)


def _may_withdraw(peer: PeerHub, comment: Comment) -> bool:
    """Tell whether ``peer`` wrote the comment or is the origin of the note it is under."""
    if peer.id is None:
        return False
    thread = thread_of(comment)
    from_writer = thread is not None and thread.peer_id == peer.id
    return from_writer or (comment.note is not None and comment.note.origin_peer_id == peer.id)


def _from_hub(peer: PeerHub):
    """Select the threads of comments received from ``peer`` or written on it (relayed by another origin)."""
    return sa.select(CommentThread).where(sa.or_(CommentThread.peer_id == peer.id,
                                                 CommentThread.origin_host == request_host(peer.base_url)))


def hide_comments_from(peer: PeerHub) -> int:
    """Take down the comments of a hub being blocked, shown or held (so none can be released); return how many.

    The other hubs that have our notes are told (``comment.removed``); the blocked hub is not
    sent the removal of its own members' comments: a block is no moderator's judgement of them.
    """
    count = 0
    for thread in db.session.scalars(_from_hub(peer)):
        comment = thread.comment
        if comment is None or comment.removed_at is not None:
            continue
        comment.removed_at, thread.hidden_by_block = utcnow(), True
        if comment.state == CommentState.PUBLISHED:
            events.record("comment.removed", subject_type="comment", subject_id=comment.id, note_id=comment.note_id,
                          origin="remote", keep_writer=True)
        count += 1
    return count


def unhide_comments_from(peer: PeerHub) -> int:
    """Bring back the comments a block took down (published ones are shown and relayed again); return how many."""
    count = 0
    for thread in db.session.scalars(_from_hub(peer).where(CommentThread.hidden_by_block.is_(True))):
        comment = thread.comment
        thread.hidden_by_block = False
        if comment is None or comment.note is None or comment.note.state == S.DELETED.value:
            continue
        comment.removed_at = None
        if comment.state == CommentState.PUBLISHED:  # what still waits for its writer's hub stays (keep_writer)
            events.record("comment.added", subject_type="comment", subject_id=comment.id, note_id=comment.note_id,
                          origin="remote", keep_writer=True)
        count += 1
    return count


# --- marks, flags, proposed translations --------------------------------------------------------

def _our_note(peer: PeerHub, ref: Any) -> Note:
    note = _local_note_from_id(id_of(ref))
    if note is None or not _may_read(peer, note):
        raise Unwanted("not_our_note", "the object is not a practice note of this hub that you may read")
    return note


def check_like(activity: dict[str, Any], peer: PeerHub) -> None:
    """Door check of a Like: one of our notes, with a known ``peh:kind``."""
    _our_note(peer, activity.get("object"))
    if activity.get("peh:kind", "useful") not in MARK_KINDS:
        raise Unwanted("unsupported_kind", "peh:kind must be 'tried' or 'useful'")


def on_like(peer: PeerHub, activity: dict[str, Any], item: Any) -> str | None:
    """Count a hub's mark once per hub and kind."""
    check_like(activity, peer)
    note = _our_note(peer, activity.get("object"))
    kind = activity.get("peh:kind", "useful")
    mark = db.session.scalar(sa.select(RemoteMark).where(RemoteMark.note_id == note.id, RemoteMark.peer_id == peer.id,
                                                         RemoteMark.kind == kind))
    if mark is None:
        db.session.add(RemoteMark(note_id=note.id, peer_id=peer.id, kind=kind, activity_id=activity["id"]))
        events.record("mark.changed", subject_type="note", subject_id=note.id, mark=kind, origin="remote")
    else:
        mark.activity_id = activity["id"]
    return None


def undo_like(peer: PeerHub, obj: Any) -> bool:
    """Withdraw a hub's mark named by its Like (inline or by id); tell whether there was one."""
    ref = id_of(obj)
    mark = db.session.scalar(sa.select(RemoteMark).where(RemoteMark.peer_id == peer.id,
                                                         RemoteMark.activity_id == ref)) if ref else None
    if mark is None and isinstance(obj, dict) and obj.get("type") == "Like":
        note = _local_note_from_id(id_of(obj.get("object")))
        mark = db.session.scalar(sa.select(RemoteMark).where(
            RemoteMark.peer_id == peer.id, RemoteMark.note_id == (note.id if note else -1),
            RemoteMark.kind == obj.get("peh:kind", "useful")))
    if mark is None:
        return False
    events.record("mark.changed", subject_type="note", subject_id=mark.note_id, mark=mark.kind, origin="remote")
    db.session.delete(mark)
    return True


def store_totals(note: Note, obj: dict[str, Any], *, at: dt.datetime | None) -> None:
    """Keep the mark totals a partner's Article reports, unless newer ones arrived already."""
    totals = obj.get("peh:marks")
    if not isinstance(totals, dict):
        return
    at = min(at or utcnow(), utcnow())
    for kind in MARK_KINDS:
        count = totals.get(kind)
        if not isinstance(count, int) or isinstance(count, bool) or not 0 <= count < 10**9:
            continue
        row = db.session.get(MarkTotal, (note.id, kind))
        if row is None:
            db.session.add(MarkTotal(note_id=note.id, kind=kind, count=count, reported_at=at))
        elif at >= row.reported_at:
            row.count, row.reported_at = count, at


def _flag_target(peer: PeerHub, activity: dict[str, Any]) -> tuple[Note, Comment | None]:
    refs = activity.get("object")
    refs = refs if isinstance(refs, list) else [refs]
    note, comment = None, None
    for ref in refs[:5]:
        note = note or _local_note_from_id(id_of(ref))
        found = _comment_from_id(id_of(ref))
        comment = comment or found
    if note is None and comment is not None:
        note = comment.note
    if note is None or not _may_read(peer, note) or (comment is not None and (
            comment.note_id != note.id or not _shown_to(peer, comment))):
        raise Unwanted("not_our_note", "the flag names no practice note of this hub that you may read")
    return note, comment


def check_flag(activity: dict[str, Any], peer: PeerHub) -> None:
    """Door check of a Flag: one of our notes (and maybe one of its comments)."""
    _flag_target(peer, activity)


def on_flag(peer: PeerHub, activity: dict[str, Any], item: Any) -> str | None:
    """Put a partner hub's report in our moderators' queue, under the hub's name only."""
    note, comment = _flag_target(peer, activity)
    if db.session.scalar(sa.select(FlagOrigin.flag_id).where(FlagOrigin.activity_id == activity["id"])):
        return None
    reason = activity.get("peh:reason")
    flag = Flag(note=note, comment=comment, reporter=None, reason=reason if reason in FLAG_REASONS else "other",
                detail="")
    db.session.add(flag)
    db.session.flush()
    db.session.add(FlagOrigin(flag_id=flag.id, peer_id=peer.id, activity_id=activity["id"]))
    return None


def _offered(peer: PeerHub, activity: dict[str, Any]) -> tuple[Note, activities.RemoteArticle]:
    original = _our_note(peer, activity.get("target"))
    obj = activity.get("object")
    if not isinstance(obj, dict) or obj.get("type") != "Article":
        raise Unwanted("unsupported_object", "only a translated Article can be offered")
    article = activities.parse_article({**obj, "to": [], "cc": []}, actor_id=peer.actor_id)
    if article.language == original.language or article.language not in LANGUAGES:
        raise Unwanted("unsupported_language", "a translation must be in the hub's other language")
    return original, article


def check_offer(activity: dict[str, Any], peer: PeerHub) -> None:
    """Door check of an Offer: a translation of one of our notes."""
    _offered(peer, activity)


# The states in which a partner's offered translation takes its new text as it comes (no reader has it).
IN_REVIEW = (S.SUBMITTED.value, S.REJECTED.value, S.CHANGES_REQUESTED.value)


def on_offer(peer: PeerHub, activity: dict[str, Any], item: Any) -> str | None:
    """Put a partner's translation of one of our notes in the moderation queue (never published at once).

    Offered again after its hub withdrew it (a ``Delete``: hub.federation.remote_notes.delete), it comes back
    to the queue. A new version of one our moderators decided on takes the partner's redaction at once; any
    other change goes back to review.
    """
    original, article = _offered(peer, activity)
    translation = remote_notes.by_remote_id(article.object_id)
    if translation is not None:
        notes.hold(translation)  # a moderator deciding on it meanwhile: read the state that decision leaves
    withdrawn = translation is not None and translation.state == S.DELETED.value
    if translation is not None and (translation.origin_peer_id != peer.id or translation.translation_of_id not in (
            original.id, *((None,) if withdrawn else ()))):  # a withdrawal of what never arrived leaves no link
        raise InvalidActivity("this translation belongs elsewhere")
    if withdrawn and not _after(activity, translation.deleted_at):
        return None  # an Offer its hub withdrew since
    if translation is not None and not withdrawn and translation.state not in IN_REVIEW:
        _take_new_version(translation, article, at=activities.parse_time(activity.get("published")))
        _offered_at(translation, activity)
        return None
    translation = translation or Note(origin_peer_id=peer.id, remote_id=article.object_id, author_id=None,
                                      project_id=None)
    remote_notes.fill(translation, article)
    translation.translation_of_id, translation.deleted_at = original.id, None
    translation.visibility, translation.terms = original.visibility, list(original.terms)
    translation.place, translation.province = original.place, original.province
    translation.source_revision = original.revision_number
    translation.state, translation.submitted_at = S.SUBMITTED.value, utcnow()
    _offered_at(translation, activity)
    db.session.add(translation)
    return None


def _offered_at(translation: Note, activity: dict[str, Any]) -> None:
    """Keep as the time of the version stored the time of the Offer taken, when later: the partner's translation
    stood there then, so a withdrawal made before it comes late and removes nothing (remote_notes.delete).
    An Offer of a translation republished unchanged carries its old ``updated``, earlier than that withdrawal."""
    at = activities.parse_time(activity.get("published"))
    if at is not None and (translation.remote_updated_at is None or at > translation.remote_updated_at):
        translation.remote_updated_at = at


def _after(activity: dict[str, Any], moment: dt.datetime | None) -> bool:
    """Tell whether ``activity`` was made after ``moment`` (both by its hub's clock; unknown: it came later)."""
    at = activities.parse_time(activity.get("published"))
    return at is None or moment is None or at > moment


def _take_new_version(translation: Note, article: activities.RemoteArticle, *, at: dt.datetime | None) -> None:
    """Apply a partner's new version of its translation our moderators accepted or took down.

    What its moderators cut out (personal data) goes at once, each cut shown by the redaction marker as the
    origin's redaction of our member's comment is on the hub that wrote it (:func:`_cuts_of`): the words must
    not stay here, and no partner may change what our readers read unseen by more than a visible cut. Other
    words go back to review when readers had it; a translation taken down here stays down, with them.

    An older version (a retried dead letter) is left: its Offer (``at``) and its ``updated`` both come before
    the version held, which is the time of the last Offer taken (:func:`_offered_at`). ``updated`` alone is to
    the second, the Offer to the millisecond: a cut made within the second of the last Offer has an ``updated``
    earlier than that Offer, and must not be taken for an older version.
    """
    shown = {"title": translation.title, "summary": translation.summary, "body": translation.body}
    offered = {"title": article.title, "summary": article.summary, "body": article.text}
    made = max([t for t in (article.updated, at) if t is not None], default=None)
    if all(redaction.same_text(shown[k], offered[k]) for k in shown) or (
            translation.remote_updated_at and made and made < translation.remote_updated_at):
        return  # the text we have, or an older version
    cut = _cuts_of(translation, article)
    if cut is not None:
        translation.title, translation.summary, translation.body_html = cut
    else:
        translation.title, translation.summary, translation.body_html = (article.title, article.summary,
                                                                         article.content_html)
    translation.body = html_text(translation.body_html)
    translation.updated_at = min(article.updated or utcnow(), utcnow())
    translation.remote_updated_at = article.updated or translation.remote_updated_at
    translation.revisions.clear()  # the texts it had here: its hub's words, changed there since
    if translation.state != S.PUBLISHED.value:
        return
    if cut is not None:
        events.record("note.updated", subject_type="note", subject_id=translation.id, origin="remote", redacted=True)
    else:
        translation.state, translation.submitted_at, translation.featured = S.SUBMITTED.value, utcnow(), False
        events.record("note.unpublished", subject_type="note", subject_id=translation.id, origin="remote")


def _cuts_of(translation: Note, article: activities.RemoteArticle) -> tuple[str, str, str] | None:
    """Return the title, summary and HTML body of ``translation`` with the spans ``article`` leaves out replaced
    by the redaction marker (or as it marked them), or None when ``article`` changes more than that."""
    def marked(before: str, after: str) -> str | None:
        if redaction.same_text(before, after) or redaction.only_cuts(before, after):
            return after
        found = redaction.mark_cuts(before, after, language=translation.language)
        return found if found is not None and redaction.only_cuts(before, found) else None

    title, summary = marked(translation.title, article.title), marked(translation.summary, article.summary)
    html = marked(translation.body_html, article.content_html)
    if title is None or summary is None or html is None:
        return None
    html = activities.sanitize_html(html)  # a span cut across tags leaves them unbalanced
    text, wanted = html_text(html), article.text
    if not (redaction.same_text(text, translation.body) or redaction.only_cuts(translation.body, text)) or \
            not redaction.same_text(_unmarked(text), _unmarked(wanted)):
        return None  # not the cuts the partner made, seen as text
    return title, summary, html


def _unmarked(text: str) -> str:
    """Return ``text`` without redaction markers (what remains of a text once its cuts are left out)."""
    for language in LANGUAGES:
        text = text.replace(screening.marker(language), "")
    return text


# --- for pages ----------------------------------------------------------------------------------

def origin_of(comment: Comment) -> dict[str, Any] | None:
    """Return where a comment came from (pseudonym, hub name) and what it answers, for pages."""
    return origins_of([comment])[comment.id]


def origins_of(comments: Sequence[Comment]) -> dict[int, dict[str, Any] | None]:
    """Return :func:`origin_of` each of ``comments`` by id, reading the hubs and our members' names once for all."""
    threads = {c.id: thread_of(c) for c in comments}
    elsewhere = [t for t in threads.values() if t is not None and t.peer_id is not None]
    look_alikes = accounts.members_look_alikes(t.author_pseudonym for t in elsewhere if t.author_pseudonym)
    addresses = {scheme + t.origin_host: t.origin_host for t in elsewhere for scheme in ("https://", "http://")}
    writers: dict[str, PeerHub] = {}
    if addresses:
        for peer in db.session.scalars(sa.select(PeerHub).where(PeerHub.base_url.in_(addresses)).order_by(PeerHub.id)):
            writers.setdefault(addresses[peer.base_url], peer)
    found: dict[int, dict[str, Any] | None] = {}
    for comment_id, thread in threads.items():
        if thread is None:
            found[comment_id] = None
            continue
        found[comment_id] = {"parent_id": thread.parent_id, "pseudonym": thread.author_pseudonym}
        if thread.peer_id is not None:
            if thread.author_pseudonym in look_alikes:
                found[comment_id]["pseudonym"] = ""  # one of our members took a look-alike name since it arrived
            writer = writers.get(thread.origin_host)
            found[comment_id]["hub"] = (writer.name or writer.base_url) if writer else thread.origin_host
    return found


def flag_origin(flag: Flag) -> str | None:
    """Return the name of the partner hub a flag came from, or None for our members' flags."""
    origin = db.session.get(FlagOrigin, flag.id)
    return (origin.peer.name or origin.peer.base_url) if origin is not None else None
