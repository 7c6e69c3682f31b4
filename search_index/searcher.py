"""Running searches: each search reads one commit of the index, a result cache beside.

Opening a Whoosh index costs hundreds of milliseconds at scale, so each thread keeps one
reader and only opens a newer one when the index has a new commit (or a rebuilt generation was
swapped in). A search takes a :class:`View` — that reader, the commit's arrays
(``search_index.engine.Snapshot``) and the commit's key — and reads nothing else from start to
end, whatever the worker commits meanwhile. Matching, scoring and facet counts run in
``search_index.engine`` over arrays read once per commit. Results are cached by commit, so a new
commit invalidates them.

Why readers are not refreshed with Whoosh's ``Searcher.refresh()``: see ``search_index.store.open_reader``.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from whoosh.reading import IndexReader
from whoosh.searching import Searcher

from search_index.concepts import is_concept_token
from search_index.engine import ArrayCache, Leaf, Plan, Snapshot, Unit
from search_index.query import build, parse
from search_index.store import IndexStore, has_newer_commit, open_reader

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
    # "Did you mean": per word of the query, the word as typed and, where corrected, the index's term (a
    # stem, "hospit") and a note of the audience that holds it, to read the word back from (search_index.search).
    suggestion: tuple[tuple[str, str | None, int | None], ...] | None
    terms: list[str]  # analysed terms to mark in excerpts


@dataclass(frozen=True)
class View:
    """One commit of the index, as one search reads it from start to end."""

    searcher: Searcher  # this thread's; its reader holds every file of the commit open
    snapshot: Snapshot  # the commit's arrays, bound to that reader
    key: tuple[str, int]  # the generation folder and the commit number: results cached under it never go stale


class SearcherPool:
    """One reader per thread over the live index, opened anew only when the index changed.

    Beside them, a :class:`~search_index.engine.Snapshot` per index commit, shared by the threads:
    the arrays derived from a commit are built once per process, not once per thread. The last
    two commits' snapshots are kept, for threads that still read the older one.
    """

    def __init__(self, store: IndexStore, *, cache_bytes: int = 64 << 20) -> None:
        self.store = store
        self.arrays = ArrayCache(cache_bytes)
        self._local = threading.local()
        self._snapshots: OrderedDict[tuple[str, int], Snapshot] = OrderedDict()
        self._lock = threading.Lock()

    def view(self) -> View:
        """Return this thread's view of the latest commit (raises IndexUnavailable)."""
        local = self._local
        searcher: Searcher | None = getattr(local, "searcher", None)
        target = self.store.current_target()
        if searcher is None or local.target != target:
            if searcher is not None:
                searcher.close()
                local.searcher = None
            index, target = self.store.open_current()
            searcher = Searcher(open_reader(index), fromindex=index)
        elif has_newer_commit(local.index, searcher.ixreader.generation()):
            index = local.index
            searcher = Searcher(open_reader(index, previous=searcher.ixreader), fromindex=index)
        else:
            index = local.index
        local.searcher, local.index, local.target = searcher, index, target
        key = (target, searcher.ixreader.generation())
        return View(searcher=searcher, snapshot=self._snapshot(key, searcher.ixreader), key=key)

    def _snapshot(self, key: tuple[str, int], reader: IndexReader) -> Snapshot:
        """Return the arrays of the commit ``key``, bound to ``reader`` (this thread's, of that commit)."""
        with self._lock:
            snapshot = self._snapshots.get(key)
            if snapshot is None:
                snapshot = self._snapshots[key] = Snapshot(reader, cache=self.arrays)
                while len(self._snapshots) > 2:
                    self._snapshots.popitem(last=False)
        return snapshot.bind(reader)

    def forget_snapshots(self) -> None:
        """Drop the per-commit arrays (the bench's cold figures)."""
        with self._lock:
            self._snapshots.clear()


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


def run(view: View, text: str, *, audience: str, filters: dict[str, str], glossary, sort: str, limit: int,
        offset: int = 0) -> Outcome:
    """Search for ``text`` within ``audience`` ("public" or "members"), narrowed to facet values in ``filters``.

    Return the top ``limit`` hits from ``offset`` on (the hits of one page).
    """
    parsed = parse(text)
    options = {"public_only": audience == "public", "filters": filters, "limit": max(limit, 1), "offset": offset,
               "newest": sort == "newest", "facet_limit": FACET_LIMIT}
    built = build(parsed, glossary=glossary, mode="and")
    found = view.snapshot.run(built.plan, **options)
    fell_back = False
    if found.total == 0 and len(parsed.words) + len(parsed.phrases) > 1:
        built = build(parsed, glossary=glossary, mode="or")
        found = view.snapshot.run(built.plan, **options)
        fell_back = True
    hits = [Hit(note_id=note_id, score=score)
            for note_id, score in zip(view.snapshot.note_ids(found.docnums), found.scores)]
    return Outcome(hits=hits, total=found.total, facets=found.facets, expansions=built.expansions,
                   fell_back_to_or=fell_back,
                   suggestion=_suggest(view, parsed.words, public_only=audience == "public") if not found.total else None,
                   terms=built.highlight)


def similar(view: View, text: str, *, audience: str, leave_out: int, limit: int) -> list[int]:
    """Return the ids of up to ``limit`` notes sharing the most distinctive words of ``text``
    (Whoosh's key terms, scored by BM25 over the body), ``leave_out`` (the note itself) left out."""
    keys = [term for term, _score in view.searcher.key_terms_from_text("body", text, numterms=12)]
    if not keys:
        return []
    plan = Plan(units=(Unit(tuple((Leaf((key,)),) for key in keys)),), fields=("body",))
    found = view.snapshot.run(plan, public_only=audience == "public", filters={}, limit=limit + 1, newest=False,
                              facets=False)
    return [note_id for note_id in view.snapshot.note_ids(found.docnums) if note_id != leave_out]


def _suggest(view: View, words: list[str], *, public_only: bool) -> tuple[tuple[str, str | None, int | None], ...] | None:
    """Return a corrected query for misspelled English words ("did you mean"), or None.

    Each word comes as typed, with the index's term that corrects it (a stem: "hospit") and the id of
    a note of the audience that holds the term, or None and None. Only words of notes the audience
    may find are suggested: the index's lexicon also holds the words of members-only notes, and
    "did you mean" would otherwise spell them out to anyone.
    """
    # Suggestions share the word's first letter: Whoosh then walks only the terms that start with it,
    # not the whole English lexicon (tens of ms at 20k notes; under 2 ms so), and misspellings
    # seldom touch the first letter.
    corrector = view.searcher.corrector("body")
    changed = False
    fixed: list[tuple[str, str | None, int | None]] = []
    for word in words:
        if word.isascii() and word.isalpha() and len(word) > 3:
            for candidate in corrector.suggest(word.lower(), limit=5, prefix=1):
                if is_concept_token(candidate) or candidate == word.lower():
                    continue
                if (holder := _found_in(view, candidate, public_only=public_only)) is not None:
                    fixed.append((word, candidate, holder))
                    changed = True
                    break
            else:
                fixed.append((word, None, None))
            continue
        fixed.append((word, None, None))
    return tuple(fixed) if changed else None


def _found_in(view: View, term: str, *, public_only: bool) -> int | None:
    """Return the id of a note of the audience that holds the body term ``term``, or None."""
    plan = Plan(units=(Unit(((Leaf((term,)),),)),), fields=("body",))
    found = view.snapshot.run(plan, public_only=public_only, filters={}, limit=1, newest=False, facets=False)
    return next(iter(view.snapshot.note_ids(found.docnums)), None) if found.total else None