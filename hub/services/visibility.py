"""Who may see which note: the one rule every read path applies.

Every read path says who is asking with one :class:`Audience` value and asks
:func:`visible_notes` for the SQL condition of the notes that audience may see. Pages, lists,
counts, search, the JSON API, exports, the federation outbox, NodeInfo and delivery all do;
:func:`published_for` narrows the condition to published notes (what lists and counts show),
:func:`can_view` runs it for one note, and :func:`may_read` applies the same rule to a note in
memory (delivery asks it once per follower, the Article mapping before a note leaves).
:func:`gone_for` applies it to the widest readers a note was ever published to (``Note.reach``):
the notes an audience could read and may no longer (the API's removed notes).

The audiences and what each may see:

- an anonymous reader (:data:`ANONYMOUS`, or any person who is not signed in): published
  ``public`` notes;
- a signed-in, active person (:meth:`Audience.of`): every published note, and their own
  notes in any state but deleted; a moderator sees every note but tombstones;
- a hub reading over federation (:meth:`Audience.hub`): published ``public`` originals written
  here, and ``partners`` ones too when the hub is allow-listed and not blocked. Remote notes stay
  with their own hub; translations travel inside their original;
- the outbox (:data:`OUTBOX`): what may leave this hub at all, for the widest federated audience;
- a member of an allow-listed partner hub reading here (:data:`PARTNER_MEMBER`: an organisation's
  API token, a person's feed address): published ``public`` notes, and ``partners`` notes written
  here (a partner hub's own ``partners`` notes were shared with this hub's members, not with its
  partners), translations included.

A translation is never read without its original: published, it counts for an audience only while
its original is published to that audience too (its translator and the moderators still see it).
Drafts, submissions and other unpublished notes are seen by their author and moderators only;
a deleted note (a tombstone) by nobody. Callers may pass a person (a user, the anonymous user or
None) where an audience is expected: :meth:`Audience.of` turns it into one.
"""
from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import aliased

from hub.extensions import db
from hub.models import Note, NoteState, Visibility
from hub.permissions import can

FEDERATED = (Visibility.PUBLIC.value, Visibility.PARTNERS.value)


@dataclass(frozen=True)
class Audience:
    """Who is asking to read notes: a person, the anonymous reader, a hub, or the outbox."""

    kind: str  # "anonymous", "person", "hub", "outbox" or "partner_member"
    person: Any = None
    partner: bool = False  # a hub on the allow-list (and not blocked)

    @classmethod
    def of(cls, who: Any) -> Audience:
        """Return the audience of ``who``: an audience as it is, else a person (anonymous unless signed in)."""
        if isinstance(who, Audience):
            return who
        if getattr(who, "is_authenticated", False) and who.is_active:
            return cls("person", person=who)
        return ANONYMOUS

    @classmethod
    def hub(cls, peer: Any) -> Audience:
        """Return the audience of a hub reading over federation (None: a hub we do not know)."""
        return cls("hub", partner=bool(peer is not None and peer.partner and not peer.blocked))

    @property
    def public_only(self) -> bool:
        """Tell whether search must keep to public notes for this audience.

        The index tells public notes from the others, nothing finer: an audience that may not see
        every visibility (anonymous, a partner-hub member) searches public notes only, so that no
        count or facet reflects notes it may not read.
        """
        visibilities = _rule(self).visibilities
        return visibilities is not None and set(visibilities) != {v.value for v in Visibility}

    @property
    def public_alone(self) -> bool:
        """Tell whether this audience may read public notes and nothing else."""
        return _rule(self).visibilities == (Visibility.PUBLIC.value,)


ANONYMOUS = Audience("anonymous")
OUTBOX = Audience("outbox", partner=True)
PARTNER_MEMBER = Audience("partner_member", partner=True)


@dataclass(frozen=True)
class _Rule:
    """The rule for one audience, read by both the SQL condition and the in-memory check."""

    visibilities: tuple[str, ...] | None = None  # of published notes; None: any
    local_originals: bool = False  # only notes written here, and not translations
    author_id: int | None = None  # this person's own notes count in any state but deleted
    all_but_deleted: bool = False  # moderators
    local_only: tuple[str, ...] = ()  # visibilities that count only for notes written here


def _rule(audience: Audience) -> _Rule:
    if audience.kind == "person":
        if can(audience.person, "moderate"):
            return _Rule(all_but_deleted=True)
        return _Rule(author_id=audience.person.id)
    if audience.kind == "partner_member":
        return _Rule(visibilities=FEDERATED, local_only=(Visibility.PARTNERS.value,))
    if audience.kind in ("hub", "outbox"):
        return _Rule(visibilities=FEDERATED if audience.partner else (Visibility.PUBLIC.value,), local_originals=True)
    return _Rule(visibilities=(Visibility.PUBLIC.value,))


def _readers_may(rule: _Rule, visibility: sa.ColumnElement[str], note: Any = Note) -> sa.ColumnElement[bool]:
    """Return the condition that a published ``note`` (a table, or an alias of it) set to ``visibility`` is
    for ``rule``'s audience."""
    condition: sa.ColumnElement[bool] = sa.true()
    if rule.visibilities is not None:
        condition = visibility.in_(rule.visibilities)
    if rule.local_originals:
        condition = sa.and_(condition, note.origin_peer_id.is_(None), note.translation_of_id.is_(None))
    if rule.local_only:
        condition = sa.and_(condition, sa.or_(visibility.not_in(rule.local_only), note.origin_peer_id.is_(None)))
    return condition


def _published_for_rule(rule: _Rule) -> sa.ColumnElement[bool]:
    """Return the condition of published notes ``rule``'s audience may read (not by authorship).

    A translation is never read without its original: it counts only while its original is
    published to the same readers (a withdrawn, unpublished or deleted original hides it).
    """
    original = aliased(Note)
    original_readable = sa.exists().where(original.id == Note.translation_of_id,
                                          original.state == NoteState.PUBLISHED.value,
                                          _readers_may(rule, original.visibility, original))
    return sa.and_(Note.state == NoteState.PUBLISHED.value, _readers_may(rule, Note.visibility),
                   sa.or_(Note.translation_of_id.is_(None), original_readable))


def visible_notes(audience: Audience | Any) -> sa.ColumnElement[bool]:
    """Return the SQL condition selecting the notes ``audience`` may see."""
    return _seen(_rule(Audience.of(audience)), Note.state != NoteState.DELETED.value)


def _seen(rule: _Rule, own: sa.ColumnElement[bool]) -> sa.ColumnElement[bool]:
    """Return the condition of the notes ``rule``'s audience sees: published ones for it, and those in
    state ``own`` that it sees whatever their audience (all of them for moderators, their own for an author)."""
    if rule.all_but_deleted:
        return own
    condition = _published_for_rule(rule)
    if rule.author_id is not None:
        condition = sa.or_(condition, sa.and_(Note.author_id == rule.author_id, own))
    return condition


def gone_for(audience: Audience | Any) -> sa.ColumnElement[bool]:
    """Return the condition of notes ``audience`` could read once, published here, and may read no more.

    Whether it could is :func:`visible_notes`' rule applied to the widest audience the note was
    ever published to (``Note.reach``): unpublished, withdrawn, deleted or narrowed since, a note
    is gone for those who read it, and never named to anyone else.
    """
    rule = _rule(Audience.of(audience))
    once = sa.and_(Note.reach.is_not(None), _readers_may(rule, Note.reach))
    return sa.and_(once, sa.not_(published_for(audience)))


def may_read(note: Note, audience: Audience | Any) -> bool:
    """Tell whether ``audience`` may see ``note`` as it stands in memory, by :func:`visible_notes`' rule."""
    rule = _rule(Audience.of(audience))
    if note.state == NoteState.DELETED.value:
        return False
    if rule.all_but_deleted or (rule.author_id is not None and note.author_id == rule.author_id):
        return True
    return _published_in_memory(note, rule) and (note.translation_of_id is None or (
        note.original is not None and _published_in_memory(note.original, rule)))


def _published_in_memory(note: Note, rule: _Rule) -> bool:
    """Tell whether ``note`` is published and, by itself, for ``rule``'s audience (:func:`_readers_may`)."""
    return (note.state == NoteState.PUBLISHED.value
            and (rule.visibilities is None or note.visibility in rule.visibilities)
            and not (rule.local_originals and (note.origin_peer_id is not None or note.translation_of_id is not None))
            and not (note.visibility in rule.local_only and note.origin_peer_id is not None))


def goes_with_original(translation: Note, original: Note) -> bool:
    """Tell whether a ``translation`` may travel inside its ``original`` (its search document, its Article):
    published, and set to readers at least as wide as the original's, so that whoever reaches the
    original may read it (a moderator may have narrowed the translation alone)."""
    return (translation.state == NoteState.PUBLISHED.value
            and Visibility(translation.visibility).rank >= Visibility(original.visibility).rank)


def rule_key(audience: Audience | Any) -> Hashable:
    """Return a hashable key of what ``audience`` may see: audiences with equal keys see the same notes,
    so a statement built with :func:`published_for` for one serves the others."""
    return _rule(Audience.of(audience))


def published_for(audience: Audience | Any) -> sa.ColumnElement[bool]:
    """Return the condition for published notes ``audience`` may see (what lists and counts show).

    :func:`visible_notes` narrowed to published notes; the state is asked once (only the notes an
    audience sees whatever their audience need it: the rule for the others asks it already).
    """
    return _seen(_rule(Audience.of(audience)), Note.state == NoteState.PUBLISHED.value)


def can_view(note: Note, audience: Audience | Any) -> bool:
    """Tell whether ``audience`` may see ``note``, by the same rule as every list."""
    if note.id is None:
        return False
    query = sa.select(Note.id).where(Note.id == note.id, visible_notes(audience))
    return db.session.scalar(query) is not None
