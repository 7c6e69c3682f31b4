"""Following topics, populations, projects, places, partner hubs and saved searches.

A follow records what a person wants to hear about and how often (:class:`Frequency`). Which
notes it brings is decided only when a mail is made, and always through the person's audience
(:func:`hub.services.visibility.published_for`): following something never shows a note the
person may not read, and a note that becomes unreadable to them drops out of mails not yet sent.

Saved searches match through the search index (``search_index.search`` with the person as
viewer), so they find what the search page would find; the other kinds match in SQL.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

import search_index
from hub.extensions import db
from hub.models.base import as_id
from hub.models import Follow, FollowKind, Frequency, Note, note_term, PeerHub, Project, Term
from hub.models.user import User
from hub.services import facets
from hub.services.errors import NotAllowed, ServiceError
from hub.services.visibility import Audience, published_for
from hub.text_safety import UnsafeName, clean_name, without_controls

MAX_FOLLOWS = 200
MAX_FILTERS = 10
PLACE_LENGTH = 100  # as the Following page's field takes it
QUERY_LENGTH = 500  # as the search page reads a search (and Follow.query holds it)
FILTER_LENGTH = 64  # as the search page reads a filter's value
PLACE_KEY_LENGTH = 90  # of a place's folded form in Follow.key (100 characters with "place:")
SEARCH_PAGES = 4  # pages of 50 newest results read when looking for a saved search's new notes


# --- targets ----------------------------------------------------------------------------------

def fold_place(text: str) -> str:
    """Return the form places are compared in: NFKC, case-folded, single spaces (at most 100 characters).

    The cut only bounds a comparison form (NFKC can lengthen a text: ㍻ becomes 平成) to the column
    that holds it; notes' places and followed places are cut alike, so they still meet, and what the
    person wrote is kept whole in the follow's ``label``.
    """
    return re.sub(r"\s+", " ", unicodedata.normalize("NFKC", text or "")).strip().casefold()[:PLACE_LENGTH]


def clean_search(query: str, filters: Mapping[str, Any] | None) -> tuple[str, dict[str, str]]:
    """Return a saved search's words and filters as they are stored (bounded, filter names checked)."""
    query = re.sub(r"\s+", " ", without_controls(query or "").strip())
    if len(query) > QUERY_LENGTH:  # never follow a shorter search than the person asked for
        # i18n: following a saved search whose words are too long; %(n)d is the most characters it may have
        raise ServiceError(_l("Shorten the search to at most %(n)d characters to follow it.", n=QUERY_LENGTH),
                           field="q")
    kept: dict[str, str] = {}
    for name, value in sorted((filters or {}).items()):
        value = str(value or "").strip()
        if len(value) > FILTER_LENGTH:
            # i18n: following a saved search one of whose filters (a topic, a project…) is too long
            raise ServiceError(_l("A filter of this search is longer than %(n)d characters: this search "
                                  "cannot be followed.", n=FILTER_LENGTH))
        if value and name in facets.FACET_TITLES:  # the search page's filters; it reads no other name
            kept[str(name)] = without_controls(value)
    if len(kept) > MAX_FILTERS:
        raise ServiceError(_l("This search has too many filters to follow."))
    if not query and not kept:
        raise ServiceError(_l("Search for something first, then follow the search."))
    return query, kept


def _search_key(query: str, filters: dict[str, str]) -> str:
    text = json.dumps({"q": query, "f": filters}, sort_keys=True, ensure_ascii=False)
    return "search:" + hashlib.sha256(text.encode()).hexdigest()[:40]


@dataclass(frozen=True)
class Target:
    """What a follow is about, resolved from what a form sent."""

    kind: FollowKind
    key: str
    term: Term | None = None
    project: Project | None = None
    peer: PeerHub | None = None
    place: str = ""
    label: str = ""
    query: str = ""
    filters: tuple[tuple[str, str], ...] = ()


def target(kind: str, *, value: str = "", query: str = "", filters: Mapping[str, Any] | None = None) -> Target:
    """Resolve ``kind`` and ``value`` (a slug, a hub's id, a place) or a search into a :class:`Target`."""
    try:
        chosen = FollowKind(kind)
    except ValueError:
        raise ServiceError(_l("Choose what to follow.")) from None
    value = (value or "").strip()
    if chosen in (FollowKind.TOPIC, FollowKind.POPULATION):
        term = db.session.scalar(sa.select(Term).where(Term.kind == chosen.value, Term.slug == value))
        if term is None:
            raise ServiceError(_l("This topic or population does not exist."), field="value")
        return Target(chosen, f"term:{term.id}", term=term)
    if chosen == FollowKind.PROJECT:
        project = db.session.scalar(sa.select(Project).where(Project.slug == value))
        if project is None:
            raise ServiceError(_l("This project does not exist."), field="value")
        return Target(chosen, f"project:{project.id}", project=project)
    if chosen == FollowKind.HUB:
        number = as_id(value)
        peer = db.session.get(PeerHub, number) if number is not None else None
        if peer is None or peer not in followable_hubs():
            raise ServiceError(_l("Choose one of the partner hubs whose notes reach this hub."), field="value")
        return Target(chosen, f"hub:{peer.id}", peer=peer)
    if chosen == FollowKind.PLACE:
        try:
            value = clean_name(value)  # as titles and pseudonyms: nothing invisible in a name shown back
        except UnsafeName:
            # i18n: following a place whose name holds invisible or control characters (pasted from a chat)
            raise ServiceError(_l("Write the place without invisible characters."), field="value") from None
        folded = fold_place(value)
        if not folded:
            raise ServiceError(_l("Write the name of a city, county or province."), field="value")
        if len(value) > PLACE_LENGTH:  # never cut short without a word: it would follow another place
            raise ServiceError(_l("Write the place in at most %(n)d characters.", n=PLACE_LENGTH), field="value")
        return Target(chosen, _place_key(folded), place=folded, label=value)
    words, kept = clean_search(query, filters)
    return Target(chosen, _search_key(words, kept), query=words, filters=tuple(kept.items()))


def _place_key(folded: str) -> str:
    """Return a place's key: its folded form, or for a longer one a part of it and a digest of the whole
    (two places alike in their first 90 characters stay two follows)."""
    if len(folded) <= PLACE_KEY_LENGTH:
        return "place:" + folded
    return "place:" + folded[:PLACE_KEY_LENGTH - 33] + "#" + hashlib.sha256(folded.encode()).hexdigest()[:32]


def followable_hubs() -> list[PeerHub]:
    """Return the partner hubs whose notes reach this hub (we follow them and have not blocked them)."""
    query = sa.select(PeerHub).where(PeerHub.we_follow == "accepted", PeerHub.blocked.is_(False))
    return list(db.session.scalars(query.order_by(PeerHub.name, PeerHub.id)))


# --- following ---------------------------------------------------------------------------------

def _frequency(value: str | None) -> Frequency:
    try:
        return Frequency(value or Frequency.WEEKLY.value)
    except ValueError:
        raise ServiceError(_l("Choose how often to hear about it."), field="frequency") from None


def _require_person(user: Any) -> None:
    if not (getattr(user, "is_authenticated", False) and user.is_active):
        raise NotAllowed(_l("Sign in to follow topics, projects and searches."))


def find(user: User, chosen: Target) -> Follow | None:
    """Return ``user``'s follow of ``chosen``, if any."""
    return find_key(user, chosen.key)


def find_key(user: User, key: str) -> Follow | None:
    """Return ``user``'s follow of the target whose key is ``key`` (:attr:`Target.key`), if any."""
    return db.session.scalar(sa.select(Follow).where(Follow.user_id == user.id, Follow.key == key))


def target_key(kind: str, *, value: str = "", query: str = "", filters: Mapping[str, Any] | None = None) -> str:
    """Return the key of what ``kind`` and ``value`` (or the search) name; "" when there is no such thing."""
    try:
        return target(kind, value=value, query=query, filters=filters).key
    except ServiceError:
        return ""


def follow(user: User, chosen: Target, *, frequency: str | None = None) -> Follow:
    """Follow ``chosen`` (weekly unless said otherwise); following it again changes only the frequency."""
    _require_person(user)
    how = _frequency(frequency)
    existing = find(user, chosen)
    if existing is not None:
        return _again(existing, how if frequency else None)
    if len(of(user)) >= MAX_FOLLOWS:
        # i18n: %(n)d is the largest number of things one person may follow
        raise ServiceError(_l("You follow %(n)d things already; stop following some first.", n=MAX_FOLLOWS))
    item = Follow(user_id=user.id, kind=chosen.kind.value, key=chosen.key, term=chosen.term, project=chosen.project,
                  peer=chosen.peer, place=chosen.place, label=chosen.label, query=chosen.query,
                  filters=dict(chosen.filters), frequency=how.value)
    db.session.add(item)
    try:
        db.session.commit()
    except sa.exc.IntegrityError:
        # The same follow sent twice at once (a double tap, two tabs): the unique (user, key) lets one
        # row in; this request takes that row as its own, as if it had come second.
        db.session.rollback()
        existing = find(user, chosen)
        if existing is None:
            raise
        return _again(existing, how if frequency else None)
    return item


def _again(existing: Follow, frequency: Frequency | None) -> Follow:
    """Answer a follow of what ``existing`` already follows: change only its frequency, when one was chosen."""
    if frequency:
        existing.frequency = frequency.value
        db.session.commit()
    return existing


def _own(user: User, follow_id: int) -> Follow:
    item = db.session.get(Follow, follow_id)
    if item is None or item.user_id != user.id:
        raise NotAllowed(_l("This is not one of the things you follow."))
    return item


def set_frequency(user: User, follow_id: int, *, frequency: str) -> Follow:
    """Change how often one of ``user``'s follows is mailed."""
    item = _own(user, follow_id)
    item.frequency = _frequency(frequency).value
    db.session.commit()
    return item


def unfollow(user: User, follow_id: int) -> None:
    """Stop following (one of ``user``'s own follows)."""
    db.session.delete(_own(user, follow_id))
    db.session.commit()


def of(user: User) -> list[Follow]:
    """Return everything ``user`` follows, by kind, then in the order they were followed."""
    query = sa.select(Follow).where(Follow.user_id == user.id).order_by(Follow.kind, Follow.id)
    return list(db.session.scalars(query))


def describe(item: Follow, *, locale: str) -> str:
    """Return what a follow is about, in ``locale`` (a topic's name, a project's, a place, a search)."""
    if item.term is not None:
        return item.term.name(locale)
    if item.project is not None:
        return item.project.name(locale)
    if item.peer is not None:
        return item.peer.name or item.peer.base_url
    if item.kind == FollowKind.PLACE:
        return item.label or item.place
    words = f"“{item.query}”" if item.query else ""
    filters = dict(item.filters or {})
    names = facets.labels({name: [(value, 0)] for name, value in filters.items()}, locale=locale)
    return " · ".join([words, *(str(names.get(n, {}).get(v, v)) for n, v in filters.items())]).strip(" ·")


# --- which notes a follow brings ---------------------------------------------------------------

def _condition(item: Follow) -> sa.ColumnElement[bool] | None:
    """Return the SQL condition of the notes ``item`` brings; None for a saved search (the index decides)."""
    if item.term_id is not None:
        return Note.id.in_(sa.select(note_term.c.note_id).where(note_term.c.term_id == item.term_id))
    if item.project_id is not None:
        return Note.project_id == item.project_id
    if item.peer_id is not None:
        return Note.origin_peer_id == item.peer_id
    if item.kind == FollowKind.PLACE and item.place:
        return sa.or_(sa.func.lower(Note.place) == item.place, sa.func.lower(Note.province) == item.place)
    return None


def _new_notes(user: User) -> sa.Select:
    """Notes ``user`` may read that a follow can bring: published originals by others, newest first."""
    return (sa.select(Note).where(published_for(Audience.of(user)), Note.translation_of_id.is_(None),
                                  sa.or_(Note.author_id.is_(None), Note.author_id != user.id))
            .order_by(Note.published_at.desc(), Note.id.desc()))


def _searched(item: Follow, user: User, *, since: dt.datetime | None, note_ids: set[int] | None) -> list[int]:
    """Return ids of notes a saved search finds for ``user``: published after ``since``, or among ``note_ids``.

    Raises ``search_index.SearchUnavailable`` when the index cannot be read (the caller tries later).
    """
    found: list[int] = []
    for page in range(1, SEARCH_PAGES + 1):
        result = search_index.search(item.query, viewer=user, filters=dict(item.filters or {}), page=page,
                                     per_page=50, sort="newest", expand=True)
        for note in result.notes:
            if note_ids is not None and note.id in note_ids:
                found.append(note.id)
            elif note_ids is None and note.published_at and since and note.published_at > since:
                found.append(note.id)
        oldest = result.notes[-1].published_at if result.notes else None
        if page >= result.pages or (since and oldest and oldest <= since):
            break
    return found


def matches(user: User, follows: Iterable[Follow], *, since: dt.datetime | None = None,
            until: dt.datetime | None = None, note_ids: Iterable[int] | None = None) -> dict[int, list[Follow]]:
    """Return the notes ``follows`` bring ``user``, as note id -> the follows that brought it.

    Either notes published in (``since``, ``until``], or those among ``note_ids``; only notes the
    person may read (published, in their audience), not their own, not translations.
    """
    follows = list(follows)
    wanted_ids = set(note_ids) if note_ids is not None else None
    base = _new_notes(user)
    if wanted_ids is not None:
        base = base.where(Note.id.in_(wanted_ids))
    if since is not None:
        base = base.where(Note.published_at > since)
    if until is not None:
        base = base.where(Note.published_at <= until)
    found: dict[int, list[Follow]] = {}
    searched: dict[int, list[Follow]] = {}
    for item in follows:
        condition = _condition(item)
        if condition is None:
            for note_id in _searched(item, user, since=since, note_ids=wanted_ids):
                searched.setdefault(note_id, []).append(item)
            continue
        for note_id in db.session.scalars(base.with_only_columns(Note.id).where(condition).limit(500)):
            found.setdefault(note_id, []).append(item)
    if searched:
        # The index looked at words, filters and audience; the rest of the rule (window, not one's own) is here.
        for note_id in db.session.scalars(base.with_only_columns(Note.id).where(Note.id.in_(list(searched)))):
            found.setdefault(note_id, []).extend(searched[note_id])
    return found


def followers_of(note: Note, *, frequency: Frequency) -> list[Follow]:
    """Return the follows with ``frequency`` that could bring ``note`` (anyone's; saved searches included).

    Candidates only: :func:`matches` decides, per person, through their audience and the index.
    """
    conditions = [Follow.kind == FollowKind.SEARCH.value]
    term_ids = [t.id for t in note.terms]
    if term_ids:
        conditions.append(Follow.term_id.in_(term_ids))
    if note.project_id is not None:
        conditions.append(Follow.project_id == note.project_id)
    if note.origin_peer_id is not None:
        conditions.append(Follow.peer_id == note.origin_peer_id)
    places = {fold_place(note.place), fold_place(note.province)} - {""}
    if places:
        conditions.append(sa.and_(Follow.kind == FollowKind.PLACE.value, Follow.place.in_(places)))
    query = sa.select(Follow).where(Follow.frequency == frequency.value, sa.or_(*conditions)).order_by(Follow.id)
    return list(db.session.scalars(query))
