"""The mail consumer of the event log: which events become which mails, to whom.

It reads the log like the federation consumer: ``shared`` (one worker across all nodes runs it),
its cursor in the database moved by compare-and-set in the transaction that queues the mails, so
a crash replays events and the outbox's unique keys keep each mail single. It only queues; the
``mail-send`` task writes and sends.

- ``note.published``: a mail per person whose *immediate* follows bring the note (daily and
  weekly follows wait for the digest, hub.mail.digest), matched through the person's audience;
  not for imports, nor for notes published days ago elsewhere that a partner's outbox brings now;
- ``comment.added`` (from this hub or, once comments federate, a partner's): the note's author;
  a comment held for a moderator (hub.services.discussion) is announced only when it is shown,
  and a partner's correction of a comment (``comment.updated``) is not mailed again;
- ``review.message``: a moderator's decision to the author (on a note, or on the changes to a
  published note), a thread message to the others in it;
- ``flag.added``: the moderators.

While the hub has no mail server the cursor follows the head of the log, so setting one up later
does not mail about the past.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any

import sqlalchemy as sa
from flask import current_app

from hub import worker
from hub.extensions import db
from hub.mail import outbox
from hub.models import Comment, CommentState, Event, Flag, Follow, FollowKind, Frequency, Note, NoteState, ReviewMessage
from hub.models.user import User
from hub.services import follows, mail_settings
from hub.services.visibility import Audience, can_view

CONSUMER_NAME = "mail"
SEARCH_CONSUMER = "search"
NEWS_AGE = dt.timedelta(days=2)  # a note published longer ago than this (a backfill, an import) is not news


def _is_news(note: Note, event: Event) -> bool:
    """Tell whether a published note is news: not an import, not an old note a partner hub's outbox gave us."""
    if event.payload.get("source") == "import" or note.published_at is None:
        return False
    return note.published_at >= event.at - NEWS_AGE


def _note_published(event: Event) -> None:
    note = db.session.get(Note, event.subject_id)
    if note is None or note.state != NoteState.PUBLISHED.value or note.translation_of_id is not None \
            or not _is_news(note, event):
        return
    by_person: dict[int, list[Follow]] = {}
    for item in follows.followers_of(note, frequency=Frequency.IMMEDIATELY):
        by_person.setdefault(item.user_id, []).append(item)
    for user_id, candidates in by_person.items():
        user = db.session.get(User, user_id)
        if not mail_settings.wants(user, "follows"):
            continue
        brought = follows.matches(user, candidates, note_ids=[note.id]).get(note.id)
        if brought:
            outbox.queue(f"follow:note:{note.id}:user:{user_id}", kind="follow", user_id=user_id,
                         payload={"note_id": note.id, "follow_ids": [f.id for f in brought]}, event_id=event.id)


def _comment_added(event: Event) -> None:
    comment = db.session.get(Comment, event.subject_id)
    if comment is None or comment.state != CommentState.PUBLISHED or comment.removed_at is not None \
            or comment.note is None:
        return  # gone, or held for a moderator again: its release announces it anew
    author_id = comment.note.author_id
    if author_id is None or author_id == comment.author_id:
        return
    if mail_settings.wants(db.session.get(User, author_id), "comments"):
        outbox.queue(f"comment:{comment.id}:user:{author_id}", kind="comment", user_id=author_id,
                     payload={"comment_id": comment.id}, event_id=event.id)


def _review_message(event: Event) -> None:
    message = db.session.get(ReviewMessage, event.subject_id)
    if message is None:
        return
    for user_id in event.payload.get("to") or []:
        user = db.session.get(User, user_id)
        if mail_settings.wants(user, "review") and can_view(message.note, Audience.of(user)):
            outbox.queue(f"review:{message.id}:user:{user_id}", kind="review", user_id=user_id,
                         payload={"note_id": message.note_id, "decision": message.kind, "message_id": message.id},
                         event_id=event.id)


def _flag_added(event: Event) -> None:
    item = db.session.get(Flag, event.subject_id)
    if item is None or item.resolved_at is not None:
        return
    for moderator in mail_settings.moderators():
        if moderator.id != item.reporter_id:
            outbox.queue(f"flag:{item.id}:user:{moderator.id}", kind="flag", user_id=moderator.id,
                         payload={"flag_id": item.id}, event_id=event.id)


HANDLERS: dict[str, Callable[[Event], None]] = {
    "note.published": _note_published,
    "comment.added": _comment_added,
    "review.message": _review_message,
    "flag.added": _flag_added,
}


def apply_event(event: Event) -> None:
    """Queue the mails one event calls for (none for most events)."""
    handler = HANDLERS.get(event.kind)
    if handler is not None:
        handler(event)


def _index_position() -> int | None:
    """Return how far this node's search index has read the log (None without an indexer)."""
    for consumer in worker.consumers(current_app):
        if consumer.name == SEARCH_CONSUMER:
            return consumer.position()
    return None


def _immediate_searches() -> bool:
    query = sa.select(Follow.id).where(Follow.kind == FollowKind.SEARCH.value,
                                       Follow.frequency == Frequency.IMMEDIATELY.value).limit(1)
    return db.session.scalar(query) is not None


class MailConsumer:
    """Turns events into queued mails; its cursor lives in the database (see the module docstring)."""

    name = CONSUMER_NAME
    shared = True

    def __init__(self) -> None:
        self.cursor = worker.DatabaseCursor(CONSUMER_NAME)
        self.read_at: int | None = None

    def position(self) -> int:
        """Return the id of the last event turned into mails (the head of the log while there is no mail server)."""
        self.read_at = self.cursor.get() if outbox.enabled() else self.cursor.skip_to_head()
        return self.read_at

    def apply(self, batch: Sequence[Event]) -> None:
        """Queue the mails of ``batch`` and move the cursor, in one transaction.

        A saved search is matched through this node's search index, so a published note waits
        (with every event after it) until the index has read it.
        """
        done: Any = None
        index_at = _index_position() if _immediate_searches() else None
        for event in batch:
            if event.kind == "note.published" and index_at is not None and index_at < event.id:
                break
            apply_event(event)
            done = event.id
        if done is None:
            db.session.rollback()
            return
        self.cursor.set(done, expected=self.read_at)
        db.session.commit()
        self.read_at = done
