"""Running searches: a reused searcher per thread, the engine's arrays per commit, a result cache.

Opening a Whoosh index costs hundreds of milliseconds at scale, so each thread keeps one
searcher and only refreshes it when the index has a new commit (or a rebuilt generation was
swapped in). Matching, scoring and facet counts run in ``search_index.engine`` over arrays read
once per commit. Results are cached by index generation, so a new commit invalidates them.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from whoosh.searching import Searcher

from search_index.concepts import is_concept_token
from search_index.engine import ArrayCache, Leaf, Plan, Snapshot, Unit
from search_index.query import build, parse
from search_index.store import IndexStore

FACET_LIMIT = 12


@dataclass
class Hit:
    """One result: a note id and its score."""

    note_id: int
    score: float


@dataclass
class Outcome:
    """What a search found, before the database re-check."""

    hits: list[Hit]
    total: int
    facets: dict[str, list[tuple[str, int]]]
    expansions: list[str]
    fell_back_to_or: bool
    suggestion: str | None
    terms: list[str]  # analysed terms to mark in excerpts


class SearcherPool:
    """One searcher per thread over the live index, refreshed only when the index changed.

    Beside it, one :class:`~search_index.engine.Snapshot` per index commit, shared by the threads:
    the arrays derived from a commit are built once per process, not once per thread.
    """

    def __init__(self, store: IndexStore, *, cache_bytes: int = 64 << 20) -> None:
        self.store = store
        self.arrays = ArrayCache(cache_bytes)
        self._local = threading.local()
        self._snapshot: tuple[tuple, Snapshot] | None = None
        self._lock = threading.Lock()

    def get(self) -> Searcher:
        """Return an up-to-date searcher for this thread (raises IndexUnavailable)."""
        current = getattr(self._local, "searcher", None)
        target = self.store.current_target()
        if current is not None and getattr(self._local, "target", None) == target:
            if not current.up_to_date():
                current = current.refresh()
                self._local.searcher = current
            return current
        if current is not None:
            current.close()
        searcher = self.store.open().searcher()
        self._local.searcher, self._local.target = searcher, target
        return searcher

    def commit_key(self, searcher: Searcher) -> tuple[str, int]:
        """Identify the commit that ``searcher`` (this thread's, from :meth:`get`) reads: the
        generation folder and its commit number. Results cached under it are never stale."""
        return self._local.target, searcher.ixreader.generation()

    def snapshot(self, searcher: Searcher) -> Snapshot:
        """Return the arrays of the commit ``searcher`` reads, bound to this thread's reader."""
        key = self.commit_key(searcher)
        with self._lock:
            if self._snapshot is None or self._snapshot[0] != key:
                self._snapshot = (key, Snapshot(searcher.ixreader, cache=self.arrays))
            snapshot = self._snapshot[1]
        return snapshot.bind(searcher.ixreader)


class ResultCache:
    """A small LRU of search outcomes (and similar-note ids) keyed by index generation and request."""

    def __init__(self, size: int = 256) -> None:
        self.size = size
        self._items: OrderedDict[tuple, Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple) -> Any:
        """Return a cached value or None."""
        with self._lock:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
            return value

    def put(self, key: tuple, value: Any) -> None:
        """Remember a value, dropping the oldest beyond the size."""
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)


def run(searcher: Searcher, snapshot: Snapshot, text: str, *, audience: str, filters: dict[str, str], glossary,
        sort: str, limit: int) -> Outcome:
    """Search for ``text`` within ``audience`` ("public" or "members"), narrowed to facet values in ``filters``.

    Return the top ``limit`` hits.
    """
    parsed = parse(text)
    options = {"public_only": audience == "public", "filters": filters, "limit": max(limit, 1),
               "newest": sort == "newest", "facet_limit": FACET_LIMIT}
    built = build(parsed, glossary=glossary, mode="and")
    found = snapshot.run(built.plan, **options)
    fell_back = False
    if found.total == 0 and len(parsed.words) + len(parsed.phrases) > 1:
        built = build(parsed, glossary=glossary, mode="or")
        found = snapshot.run(built.plan, **options)
        fell_back = True
    hits = [Hit(note_id=note_id, score=score)
            for note_id, score in zip(_note_ids(searcher, found.docnums), found.scores)]
    return Outcome(hits=hits, total=found.total, facets=found.facets, expansions=built.expansions,
                   fell_back_to_or=fell_back, suggestion=_suggest(searcher, parsed.words) if not found.total else None,
                   terms=built.highlight)


def similar(searcher: Searcher, snapshot: Snapshot, text: str, *, audience: str, leave_out: int,
            limit: int) -> list[int]:
    """Return the ids of up to ``limit`` notes sharing the most distinctive words of ``text``
    (Whoosh's key terms, scored by BM25 over the body), ``leave_out`` (the note itself) left out."""
    keys = [term for term, _score in searcher.key_terms_from_text("body", text, numterms=12)]
    if not keys:
        return []
    plan = Plan(units=(Unit(tuple((Leaf((key,)),) for key in keys)),), fields=("body",))
    found = snapshot.run(plan, public_only=audience == "public", filters={}, limit=limit + 1, newest=False,
                         facets=False)
    return [note_id for note_id in _note_ids(searcher, found.docnums) if note_id != leave_out]


def _note_ids(searcher: Searcher, docnums: list[int]) -> list[int]:
    """Return the note ids of index documents."""
    return [int(searcher.stored_fields(docnum)["id"]) for docnum in docnums]


def _suggest(searcher: Searcher, words: list[str]) -> str | None:
    """Return a corrected query for misspelled English words ("did you mean"), or None."""
    corrector = searcher.corrector("body")
    changed = False
    fixed = []
    for word in words:
        if word.isascii() and word.isalpha() and len(word) > 3:
            suggestions = [s for s in corrector.suggest(word.lower(), limit=3) if not is_concept_token(s)][:1]
            if suggestions and suggestions[0] != word.lower():
                fixed.append(suggestions[0])
                changed = True
                continue
        fixed.append(word)
    return " ".join(fixed) if changed else None
