"""Full-text search of practice notes. This module is the door: the rest of the hub imports only it.

- :func:`init_app` sets up the index store and registers the indexer as a worker consumer;
- :func:`search` and :func:`similar` answer readers: the index finds note ids (pre-filtered to
  public notes for an anonymous reader), and the notes are re-read from the database with
  :func:`hub.services.visibility.published_for`, the one visibility rule;
- :func:`status` and :func:`rebuild` serve ``flask hub search-status`` and ``flask hub reindex``,
  :func:`health` readiness checks and metrics;
- :func:`glossary_concept` and :func:`check_glossary_row` let the vocabulary service check an
  administrator's glossary row by the rules search applies to it.
Whoosh, the analysis and the engine stay behind this door (folding -> glossary -> concepts ->
analysis -> schema -> engine -> query -> searcher; see the README), so replacing them touches
nothing outside this package.
"""
from __future__ import annotations

import datetime as dt
import logging
import os
import time
from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import Any, Literal

import sqlalchemy as sa
from flask import Flask, current_app
from sqlalchemy.orm import joinedload

from hub import events
from hub.extensions import db
from hub.models import Event, GlossaryEntry
from hub.models.note import Note
from hub.services.visibility import Audience, published_for, rule_key
from search_index import glossary as glossary_module
from search_index import analysis, indexer, searcher
from search_index.excerpts import body_text_of, holds_any, note_excerpt, spelled_word
from search_index.query import parse as parse_query
from search_index.store import IndexStore, IndexUnavailable

__all__ = ["Hit", "SearchPage", "SearchUnavailable", "asks_nothing", "check_glossary_row", "glossary_concept",
           "health", "init_app", "rebuild", "search", "similar", "status", "warm"]
log = logging.getLogger("hub.search")
EXTENSION = "search_index"


class SearchUnavailable(RuntimeError):
    """The index cannot be read right now; the page must say so."""


@dataclass(frozen=True)
class Hit:
    """A note found, as a list of results shows it (``search(load="hits")``: the JSON API's results)."""

    id: int
    title: str
    summary: str
    language: str
    published_at: dt.datetime | None
    updated_at: dt.datetime


@dataclass
class SearchPage:
    """One page of results, already re-checked against the database."""

    notes: list[Note] | list[Hit]
    excerpts: dict[int, str]
    total: int
    page: int
    per_page: int
    facets: dict[str, list[tuple[str, int]]] = field(default_factory=dict)
    expansions: list[str] = field(default_factory=list)
    fell_back_to_or: bool = False
    suggestion: str | None = None
    in_summary: set[int] = field(default_factory=set)  # notes whose excerpt is their marked summary

    @property
    def pages(self) -> int:
        """Return the number of pages."""
        return max(1, -(-self.total // self.per_page))


@dataclass
class _State:
    store: IndexStore
    pool: searcher.SearcherPool
    cache: searcher.ResultCache
    glossary: tuple[tuple, glossary_module.Glossary] | None = None
    commit_seen: tuple[tuple[str, int] | None, float] | None = None  # see commit(): (commit, when it was looked at)
    cursors: dict[tuple[str, int], int] = field(default_factory=dict)  # per index commit: the last event it applied


def init_app(app: Flask) -> None:
    """Attach the index store to ``app`` and register the indexer as a worker consumer."""
    from hub import worker

    location = app.config["INDEX_DIR"]
    path = None if location == ":memory:" else os.path.join(app.instance_path, location)
    store = IndexStore(path)
    pool = searcher.SearcherPool(store, cache_bytes=int(app.config["SEARCH_CACHE_MB"]) << 20)
    app.extensions[EXTENSION] = _State(store=store, pool=pool, cache=searcher.ResultCache())
    worker.register(app, indexer.SearchIndexer(store))


def warm() -> None:
    """Load what a process's first search needs and would otherwise make its reader wait for: jieba's
    dictionary and the folding tables (about 1.3 s of CPU; gunicorn's post_worker_init calls it)."""
    analysis.segment("針具交換 warm")


def _state() -> _State:
    return current_app.extensions[EXTENSION]


def _scope(viewer: Any, *, counted: bool = True) -> str:
    """Return the searcher's pre-filter for ``viewer``: "public" or "members" (visibility is re-checked after).

    Uncounted (a caller that shows the notes only), an audience that may read more than public
    notes searches them all: the database's re-check keeps what it may read, and no count, facet
    or suggestion tells of the others.
    """
    audience = Audience.of(viewer)
    if not audience.public_only or (not counted and not audience.public_alone):
        return "members"
    return "public"


def search(text: str, *, viewer: Any, filters: dict[str, str] | None = None, page: int = 1, per_page: int = 10,
           sort: str = "relevance", expand: bool = True, load: Literal["notes", "hits"] = "notes",
           counted: bool = True) -> SearchPage:
    """Search the notes ``viewer`` may see; raise :class:`SearchUnavailable` when the index is down.

    ``load="notes"`` returns the notes with their projects (pages, feeds); ``load="hits"`` only what a
    list of results shows, as :class:`Hit`, read in one statement without the ORM (the JSON API).
    Either way the notes are re-read from the database by the one visibility rule. ``counted=False``
    is for callers that show the notes and nothing else (feeds): an audience such as a partner
    hub's member then finds the partners notes it may read too, but the total, facets and
    suggestion are of notes it may not all read, and a page may hold fewer than ``per_page``.
    """
    page, per_page = max(1, page), min(max(1, per_page), 50)
    chosen = {k: v for k, v in (filters or {}).items() if v}
    # The JSON API's hits are re-read in one statement that also reads the glossary's version: it
    # searches with the glossary this process built last and searches again, with the glossary of
    # now, in the rare case that administrators changed it meanwhile. Pages read the version first.
    found = _search(text, viewer, chosen, page, per_page, sort, expand, load, counted,
                    trusted=expand and load == "hits")
    if found is None:
        found = _search(text, viewer, chosen, page, per_page, sort, expand, load, counted, trusted=False)
    return found


def _search(text: str, viewer: Any, chosen: dict[str, str], page: int, per_page: int, sort: str, expand: bool,
            load: str, counted: bool, *, trusted: bool) -> SearchPage | None:
    """Answer :func:`search`. ``trusted``: search with the glossary built last, if any, and return None when
    the glossary's version read with the hits shows that it changed since."""
    state = _state()
    known = state.glossary if trusted else None
    if expand:
        version, glossary = known if known is not None else _versioned_glossary()
    else:
        version, glossary = None, None
    try:
        view = state.pool.view()
        scope = _scope(viewer, counted=counted)
        key = (view.key, text.strip(), scope, tuple(sorted(chosen.items())), sort, page, per_page, version)
        outcome = state.cache.get(key)
        if outcome is None:
            outcome = searcher.run(view, text, audience=scope, filters=chosen, glossary=glossary,
                                   sort=sort, limit=page * per_page, offset=(page - 1) * per_page)
            state.cache.put(key, outcome)
        cursor = _cursor(state, view)
    except IndexUnavailable as error:
        log.warning("search unavailable: %s", error)
        raise SearchUnavailable(str(error)) from error
    ids = [hit.note_id for hit in outcome.hits]
    if load == "hits":
        notes, texts, changed, read_version = _visible_hits(ids, viewer, cursor=cursor)
        if known is not None and (read_version or _glossary_version()) != version:
            return None
    else:
        notes = _visible_in_order(ids, viewer)
        texts = {n.id: body_text_of(n.body_text, n.body_html) for n in notes}
        changed = _changed_since(cursor, ids)
    notes = _still_matching(notes, texts, outcome.terms, changed=changed)
    marked = {n.id: note_excerpt(texts[n.id], n.summary, outcome.terms) for n in notes}
    # A hit the database no longer shows this viewer, or whose words changed, left the index's
    # commit since (unpublished, narrowed, deleted, redacted; the worker takes it out within a
    # second, or as soon as it runs again). The count leaves out those of this page, and with none
    # left the facets go too: no page describes a note it cannot show.
    total = max(0, outcome.total - (len(ids) - len(notes)))
    facets = outcome.facets if total else {}
    return SearchPage(notes=notes, excerpts={i: html for i, (html, _) in marked.items()}, total=total,
                      page=page, per_page=per_page, facets=facets, expansions=outcome.expansions,
                      fell_back_to_or=outcome.fell_back_to_or,
                      suggestion=_spelled_out(outcome.suggestion, viewer, cursor=cursor),
                      in_summary={i for i, (html, summary) in marked.items() if html and summary})


def _spelled_out(suggestion: tuple[tuple[str, str | None, int | None], ...] | None, viewer: Any, *,
                 cursor: int) -> str | None:
    """Return "did you mean" as words that notes ``viewer`` may read spell them, or None.

    The corrector knows the index's terms, which are stems ("hospit", "servic"); a person reads
    words. Each stem is read back from the note that holds it, as its word there nearest to what was
    typed ("hospital"). Where that note is no longer visible, nothing is suggested rather than a stem.
    """
    if not suggestion:
        return None
    hits, bodies, _changed, _version = _visible_hits([note_id for _, _, note_id in suggestion if note_id is not None],
                                                     viewer, cursor=cursor)
    texts = {hit.id: " ".join((hit.title, hit.summary or "", bodies[hit.id])) for hit in hits}
    words = []
    for typed, stem, note_id in suggestion:
        word = typed if stem is None else spelled_word(stem, texts.get(note_id, ""), typed=typed)
        if word is None:
            return None
        words.append(word)
    return " ".join(words)


def _cursor(state: _State, view: searcher.View) -> int:
    """Return the last event the view's index commit applied (read once per commit)."""
    cursor = state.cursors.get(view.key)
    if cursor is None:
        if len(state.cursors) >= 64:
            state.cursors.clear()
        cursor = state.cursors[view.key] = indexer.meta_of(view.searcher).cursor
    return cursor


# The notes of a page that changed after the index's commit: events it has not applied yet.
_CHANGED = (sa.select(Event.subject_id).distinct()
            .where(Event.id > sa.bindparam("cursor"), Event.subject_type == "note",
                   Event.subject_id.in_(sa.bindparam("ids", expanding=True))))


def _changed_since(cursor: int, ids: list[int]) -> set[int]:
    """Return which of the notes ``ids`` changed after the event ``cursor`` (none, when the worker keeps up)."""
    if not ids:
        return set()
    return set(db.session.connection().execute(_CHANGED, {"cursor": cursor, "ids": ids}).scalars())


def _still_matching(notes: list, texts: dict[int, str], terms: list[str], *, changed: set[int]) -> list:
    """Leave out the notes that changed since the index's commit and no longer hold any of ``terms``.

    The index matched their text as it was: a name a moderator removed everywhere must not still
    find the note (nor count it) until the worker has indexed the new text. Notes unchanged since
    the commit are kept as the index found them.
    """
    if not changed or not terms:
        return notes
    return [n for n in notes if n.id not in changed
            or holds_any("\n".join((n.title, n.summary or "", texts[n.id])), terms)]


def asks_nothing(text: str) -> bool:
    """Tell whether ``text`` holds no word, phrase or exclusion to search for (spaces, a lone quote or dash)."""
    parsed = parse_query(text)
    return not (parsed.words or parsed.phrases or parsed.excluded)


def _visible_in_order(ids: list[int], viewer: Any) -> list[Note]:
    """Re-read the notes from the database, keeping only those ``viewer`` may see, in rank order."""
    if not ids:
        return []
    rows = db.session.scalars(sa.select(Note).where(Note.id.in_(ids), published_for(viewer))
                              .options(joinedload(Note.project)))  # result lists name each note's project
    by_id = {note.id: note for note in rows}
    return [by_id[i] for i in ids if i in by_id]


_HIT_COLUMNS = (Note.id, Note.title, Note.summary, Note.language, Note.published_at, Note.updated_at)
_HIT_QUERIES: dict[Hashable, sa.Select] = {}  # by visibility rule: built once, so SQLAlchemy's cache key is kept
# Asked on every search (whether administrators changed the glossary), built once like the above.
_GLOSSARY_VERSION = sa.select(sa.func.count(GlossaryEntry.id), sa.func.max(GlossaryEntry.id))


def _hits_query(viewer: Any) -> sa.Select:
    """Return the statement that re-reads a page of hits for ``viewer`` (the ids in the parameter "ids").

    Each row: the hit's columns, its text for excerpts, whether it changed after the event "cursor"
    (as :func:`_changed_since` tells) and the glossary's version (as ``_GLOSSARY_VERSION`` reads it):
    one statement where three were asked one after the other.
    """
    key = rule_key(viewer)
    query = _HIT_QUERIES.get(key)
    if query is None:
        changed = Note.id.in_(sa.select(Event.subject_id).where(Event.id > sa.bindparam("cursor"),
                                                                Event.subject_type == "note"))
        count, last = (sa.select(column).scalar_subquery() for column in _GLOSSARY_VERSION.selected_columns)
        # body_html only where body_text is missing (a row written without the ORM): it is read only then.
        query = (sa.select(*_HIT_COLUMNS, Note.body_text, sa.case((Note.body_text.is_(None), Note.body_html)),
                           changed, count, last)
                 .where(Note.id.in_(sa.bindparam("ids", expanding=True)), published_for(viewer)))
        if len(_HIT_QUERIES) >= 256:  # a rule per member (their own drafts): keep the map bounded
            _HIT_QUERIES.clear()
        _HIT_QUERIES[key] = query
    return query


def _visible_hits(ids: list[int], viewer: Any, *, cursor: int) -> tuple[list[Hit], dict[int, str], set[int], tuple]:
    """Re-read the hits ``viewer`` may see in one statement, in rank order, with each one's text for excerpts,
    those that changed after the event ``cursor``, and the glossary's version (None without rows)."""
    if not ids:
        return [], {}, set(), None
    found = {row[0]: row for row in db.session.connection().execute(_hits_query(viewer),
                                                                     {"ids": ids, "cursor": cursor}).all()}
    rows = [found[i] for i in ids if i in found]
    width = len(_HIT_COLUMNS)
    return ([Hit(*row[:width]) for row in rows], {row[0]: body_text_of(row[width], row[width + 1]) for row in rows},
            {row[0] for row in rows if row[width + 2]}, tuple(rows[0][width + 3:]) if rows else None)


def _glossary_version() -> tuple:
    """Return the glossary's version: how many rows administrators added, and the last one's id."""
    # Through the session's connection, without the ORM's statement handling.
    return tuple(db.session.connection().execute(_GLOSSARY_VERSION).one())


def _glossary() -> glossary_module.Glossary:
    """Return the shipped glossary merged with administrators' rows (rebuilt only when they change)."""
    return _versioned_glossary()[1]


def _versioned_glossary() -> tuple[tuple, glossary_module.Glossary]:
    """Return the glossary's version, as the database tells it now, and :func:`_glossary`."""
    state = _state()
    version = _glossary_version()
    known = state.glossary
    if known is None or known[0] != version:
        rows = [(e.concept, e.terms_zh, e.terms_en) for e in db.session.scalars(sa.select(GlossaryEntry))]
        known = state.glossary = (version, glossary_module.default_glossary().with_rows(rows))
    return known


def glossary_concept(term: str) -> str | None:
    """Return the id of the shipped glossary concept that has ``term`` (or is called ``term``), else None."""
    return glossary_module.default_glossary().concept_of(term)


def check_glossary_row(concept: str, terms_zh: str, terms_en: str) -> None:
    """Raise ValueError unless an administrator's glossary row is well formed (terms joined by "|")."""
    glossary_module.check_row((concept, terms_zh, terms_en))


def similar(note: Note, *, viewer: Any, limit: int = 5) -> list[Note]:
    """Return published notes like ``note`` that ``viewer`` may see (empty when the index is down).

    Finding a note's key terms analyses its whole text (tens of ms at scale), so the ids found are
    cached per index commit and note version; visibility is re-checked every time.
    """
    state = _state()
    audience = _scope(viewer)
    try:
        view = state.pool.view()
        key = ("similar", view.key, note.id, note.updated_at, audience, limit)
        ids = state.cache.get(key)
        if ids is None:
            text = " ".join([note.title, note.summary, indexer.body_text(note)])
            ids = searcher.similar(view, text, audience=audience, leave_out=note.id, limit=limit)
            state.cache.put(key, ids)
    except IndexUnavailable:
        return []
    return _visible_in_order(ids, viewer)[:limit]


def commit(max_age: float = 0.0) -> tuple[str, int] | None:
    """Return which index commit this process reads now (None when the index is unavailable).

    Cheap (a link and a directory read): a page that caches what it found in the index keys it by this.
    ``max_age``: seconds for which the commit this process saw last may be returned without looking
    (a page keyed by it may then show what the index found a moment ago, never what a reader may not see).
    """
    state = _state()
    now = time.monotonic()
    seen = state.commit_seen
    if max_age and seen is not None and now - seen[1] <= max_age:
        return seen[0]
    try:
        key = state.pool.view().key
    except IndexUnavailable:
        key = None
    state.commit_seen = (key, now)
    return key


def status() -> dict[str, int | bool]:
    """Return the indexed and published note counts, the indexer's lag behind the event log, and how
    many published notes the index lacks and how many it holds that are not published.

    The notes are compared by id, so an index with as many notes as are published but not the same
    ones is seen too. ``in_step`` is false when the index is unavailable or differs from the
    database although it has applied every event (a missed event, or an index of another database).
    """
    try:
        view = _state().pool.view()  # first: the database is then at least as new as this commit
        cursor = indexer.meta_of(view.searcher).cursor
        indexed = set(view.snapshot.ids[view.snapshot.live].tolist())
    except IndexUnavailable:
        view, cursor, indexed = None, 0, set()
    published = set(db.session.scalars(sa.select(Note.id).where(*indexer.PUBLISHED_ORIGINAL)))
    head = events.head()  # after the notes: a note published in between shows as lag, not as a difference
    missing, unexpected = len(published - indexed), len(indexed - published)
    lag = max(0, head - cursor)
    return {"available": view is not None, "indexed": len(indexed), "published": len(published), "cursor": cursor,
            "head": head, "lag": lag, "missing": missing, "unexpected": unexpected,
            "in_step": view is not None and (lag > 0 or not missing + unexpected)}


def health() -> dict[str, Any]:
    """Return whether this process can read the index and which commit it reads (no counting: cheap)."""
    state = _state()
    try:
        view = state.pool.view()
    except IndexUnavailable:
        return {"available": False, "generation": None}
    return {"available": True, "generation": view.key[1]}


def rebuild(*, procs: int = 1) -> int:
    """Rebuild the index from the database into a new generation and swap it in."""
    return indexer.rebuild(_state().store, procs=procs)

