"""Full-text search of practice notes: the only door the rest of the hub uses.

- :func:`init_app` sets up the index store and registers the indexer with the worker;
- :func:`search` and :func:`similar` answer readers, re-checking visibility in the database;
- :func:`status` and :func:`rebuild` serve ``flask hub search-status`` and ``flask hub reindex``.
Whoosh stays behind this package, so replacing it touches nothing else.
"""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from flask import Flask, current_app
from sqlalchemy.orm import selectinload

from hub import events
from hub.extensions import db
from hub.models.note import Note
from hub.services.visibility import published_for
from search_index import glossary as glossary_module
from search_index import excerpts, indexer, searcher
from search_index.store import IndexStore, IndexUnavailable

__all__ = ["SearchPage", "SearchUnavailable", "init_app", "rebuild", "search", "similar", "status"]
log = logging.getLogger("hub.search")
EXTENSION = "search_index"


class SearchUnavailable(RuntimeError):
    """The index cannot be read right now; the page must say so."""


@dataclass
class SearchPage:
    """One page of results, already re-checked against the database."""

    notes: list[Note]
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


def init_app(app: Flask) -> None:
    """Attach the index store to ``app`` and register the indexer as a worker consumer."""
    from hub import worker

    location = app.config["INDEX_DIR"]
    path = None if location == ":memory:" else os.path.join(app.instance_path, location)
    store = IndexStore(path)
    pool = searcher.SearcherPool(store, cache_bytes=int(app.config["SEARCH_CACHE_MB"]) << 20)
    app.extensions[EXTENSION] = _State(store=store, pool=pool, cache=searcher.ResultCache())
    worker.register(app, indexer.SearchIndexer(store))


def _state() -> _State:
    return current_app.extensions[EXTENSION]


def _audience(viewer: Any) -> str:
    signed_in = getattr(viewer, "is_authenticated", False) and viewer.is_active
    return "members" if signed_in else "public"


def search(text: str, *, viewer: Any, filters: dict[str, str] | None = None, page: int = 1, per_page: int = 10,
           sort: str = "relevance", expand: bool = True) -> SearchPage:
    """Search the notes ``viewer`` may see; raise :class:`SearchUnavailable` when the index is down."""
    state = _state()
    page, per_page = max(1, page), min(max(1, per_page), 50)
    chosen = {k: v for k, v in (filters or {}).items() if v}
    glossary = _glossary() if expand else None
    try:
        found = state.pool.get()
        key = (state.pool.commit_key(found), text.strip(), _audience(viewer), tuple(sorted(chosen.items())), sort,
               page * per_page, state.glossary[0] if expand else None)
        outcome = state.cache.get(key)
        if outcome is None:
            outcome = searcher.run(found, state.pool.snapshot(found), text, audience=_audience(viewer),
                                   filters=chosen, glossary=glossary, sort=sort, limit=page * per_page)
            state.cache.put(key, outcome)
    except IndexUnavailable as error:
        log.warning("search unavailable: %s", error)
        raise SearchUnavailable(str(error)) from error
    ids = [hit.note_id for hit in outcome.hits[(page - 1) * per_page: page * per_page]]
    notes = _visible_in_order(ids, viewer)
    marked = {n.id: _excerpt(n, outcome.terms) for n in notes}
    return SearchPage(notes=notes, excerpts={i: html for i, (html, _) in marked.items()}, total=outcome.total,
                      page=page, per_page=per_page, facets=outcome.facets, expansions=outcome.expansions,
                      fell_back_to_or=outcome.fell_back_to_or, suggestion=outcome.suggestion,
                      in_summary={i for i, (html, summary) in marked.items() if html and summary})


def _excerpt(note: Note, terms: list[str]) -> tuple[str, bool]:
    """Mark the query's words in the body; in the summary only when the body has none of them.

    Return the excerpt and whether it is the summary's (the page then shows it in the summary's
    place rather than the same sentence twice).
    """
    body = excerpts.excerpt_html(excerpts.html_text(note.body_html), terms)
    return (body, False) if body else (excerpts.excerpt_html(note.summary, terms), True)


def _visible_in_order(ids: list[int], viewer: Any) -> list[Note]:
    """Re-read the notes from the database, keeping only those ``viewer`` may see, in rank order."""
    if not ids:
        return []
    rows = db.session.scalars(sa.select(Note).where(Note.id.in_(ids), published_for(viewer))
                              .options(selectinload(Note.project)))  # result lists name each note's project
    by_id = {note.id: note for note in rows}
    return [by_id[i] for i in ids if i in by_id]


def _glossary() -> glossary_module.Glossary:
    """Return the shipped glossary merged with administrators' rows (rebuilt only when they change)."""
    from hub.models.note import GlossaryEntry

    state = _state()
    version = tuple(db.session.execute(sa.select(sa.func.count(GlossaryEntry.id),
                                                 sa.func.max(GlossaryEntry.id))).one())
    if state.glossary is None or state.glossary[0] != version:
        rows = [(e.concept, e.terms_zh, e.terms_en) for e in db.session.scalars(sa.select(GlossaryEntry))]
        state.glossary = (version, glossary_module.default_glossary().with_rows(rows))
    return state.glossary[1]


def similar(note: Note, *, viewer: Any, limit: int = 5) -> list[Note]:
    """Return published notes like ``note`` that ``viewer`` may see (empty when the index is down).

    Finding a note's key terms analyses its whole text (tens of ms at scale), so the ids found are
    cached per index commit and note version; visibility is re-checked every time.
    """
    state = _state()
    audience = _audience(viewer)
    try:
        found = state.pool.get()
        key = ("similar", state.pool.commit_key(found), note.id, note.updated_at, audience, limit)
        ids = state.cache.get(key)
        if ids is None:
            text = " ".join([note.title, note.summary, indexer.body_text(note)])
            ids = searcher.similar(found, state.pool.snapshot(found), text, audience=audience, leave_out=note.id,
                                   limit=limit)
            state.cache.put(key, ids)
    except IndexUnavailable:
        return []
    return _visible_in_order(ids, viewer)[:limit]


def status() -> dict[str, int | bool]:
    """Return the indexed and visible note counts and the indexer's lag behind the event log."""
    from whoosh import query as q

    head = events.head()
    published = db.session.scalar(sa.select(sa.func.count()).select_from(Note).where(
        *indexer.PUBLISHED_ORIGINAL)) or 0
    try:
        index = _state().store.open()
        cursor = indexer.read_cursor(index)
        with index.searcher() as found:
            indexed = len(list(found.docs_for_query(q.Term("kind", "note"))))
    except IndexUnavailable:
        return {"available": False, "indexed": 0, "published": published, "cursor": 0, "head": head, "lag": head}
    return {"available": True, "indexed": indexed, "published": published, "cursor": cursor, "head": head,
            "lag": max(0, head - cursor)}


def rebuild(*, procs: int = 1) -> int:
    """Rebuild the index from the database into a new generation and swap it in."""
    return indexer.rebuild(_state().store, procs=procs)

