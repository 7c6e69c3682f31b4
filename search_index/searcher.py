"""Running searches: a reused searcher per thread, facets, highlights and a result cache.

Opening a Whoosh index costs hundreds of milliseconds at scale, so each thread keeps one
searcher and only refreshes it when the index has a new commit (or a rebuilt generation was
swapped in). Facet counts are read from column values of the matching documents, without
scoring them. Results are cached by index generation, so a new commit invalidates them.
"""
from __future__ import annotations

import threading
from collections import Counter, OrderedDict
from dataclasses import dataclass, field
from typing import Any

import nh3
from whoosh import highlight
from whoosh import query as q
from whoosh.searching import Searcher

from search_index.query import Built, build, parse
from search_index.schema import FACETS
from search_index.store import IndexStore

FACET_LIMIT = 12


@dataclass
class Filters:
    """Facet values the results are narrowed to (each facet: one value)."""

    values: dict[str, str] = field(default_factory=dict)

    def query(self) -> q.Query | None:
        """Return the filter as a query, or None."""
        terms = [q.Term(name, value) for name, value in sorted(self.values.items()) if name in FACETS and value]
        return q.And(terms) if terms else None


@dataclass
class Hit:
    """One result: a note id and the matched terms for highlighting."""

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
    terms: list[tuple[str, str]]  # (field, text) pairs for highlighting


class SearcherPool:
    """One searcher per thread over the live index, refreshed only when the index changed."""

    def __init__(self, store: IndexStore) -> None:
        self.store = store
        self._local = threading.local()

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


class ResultCache:
    """A small LRU of search outcomes keyed by index generation and request."""

    def __init__(self, size: int = 256) -> None:
        self.size = size
        self._items: OrderedDict[tuple, Outcome] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple) -> Outcome | None:
        """Return a cached outcome or None."""
        with self._lock:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
            return value

    def put(self, key: tuple, value: Outcome) -> None:
        """Remember an outcome, dropping the oldest beyond the size."""
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)


def run(searcher: Searcher, text: str, *, audience: str, filters: Filters, glossary, sort: str,
        limit: int) -> Outcome:
    """Search for ``text`` within ``audience`` ("public" or "members"); return the top ``limit`` hits."""
    parsed = parse(text)
    base = [q.Term("kind", "note")]
    if audience == "public":
        base.append(q.Term("visibility", "public"))
    if (narrowing := filters.query()) is not None:
        base.append(narrowing)
    built = build(parsed, glossary=glossary, mode="and")
    outcome = _run_built(searcher, built, base, sort=sort, limit=limit)
    if outcome.total == 0 and len(parsed.words) + len(parsed.phrases) > 1:
        outcome = _run_built(searcher, build(parsed, glossary=glossary, mode="or"), base, sort=sort, limit=limit)
        outcome.fell_back_to_or = True
    if outcome.total == 0:
        outcome.suggestion = _suggest(searcher, parsed.words)
    return outcome


def _run_built(searcher: Searcher, built: Built, base: list[q.Query], *, sort: str, limit: int) -> Outcome:
    full = q.And([built.query, *base])
    docnums = list(searcher.docs_for_query(full))
    facets = _facet_counts(searcher, docnums)
    options: dict[str, Any] = {"limit": max(limit, 1), "terms": True}
    if sort == "newest":
        options.update(sortedby="published", reverse=True)
    results = searcher.search(full, **options)
    hits = [Hit(note_id=int(hit["id"]), score=hit.score or 0.0) for hit in results]
    terms = sorted({(name, text.decode() if isinstance(text, bytes) else text)
                    for name, text in built.query.iter_all_terms() if name in ("title", "summary", "body")})
    return Outcome(hits=hits, total=len(docnums), facets=facets, expansions=built.expansions,
                   fell_back_to_or=False, suggestion=None, terms=terms)


def _facet_counts(searcher: Searcher, docnums: list[int]) -> dict[str, list[tuple[str, int]]]:
    """Count facet values over the matching documents, from the column values (no scoring)."""
    reader = searcher.reader()
    counts: dict[str, list[tuple[str, int]]] = {}
    for name in FACETS:
        column = reader.column_reader(name)
        counter: Counter[str] = Counter()
        for docnum in docnums:
            value = column[docnum]
            if value:
                counter.update(value.split(",") if name in ("topic", "population") else (value,))
        counts[name] = counter.most_common(FACET_LIMIT)
    return counts


def _suggest(searcher: Searcher, words: list[str]) -> str | None:
    """Return a corrected query for misspelled English words ("did you mean"), or None."""
    corrector = searcher.corrector("body")
    changed = False
    fixed = []
    for word in words:
        if word.isascii() and word.isalpha() and len(word) > 3:
            suggestions = corrector.suggest(word.lower(), limit=1)
            if suggestions and suggestions[0] != word.lower():
                fixed.append(suggestions[0])
                changed = True
                continue
        fixed.append(word)
    return " ".join(fixed) if changed else None


class _MarkFormatter(highlight.Formatter):
    """Wrap matched words in <mark>, escaping everything else."""

    between = " … "

    def format_token(self, text, token, replace=False):
        """Return one matched token as <mark>…</mark>."""
        return "<mark>%s</mark>" % highlight.htmlescape(highlight.get_text(text, token, replace))

    def format_fragment(self, fragment, replace=False):
        """Escape the text around the matched tokens."""
        output, index = [], fragment.startchar
        for token in fragment.matches:
            if token.startchar < index:
                continue
            output.append(highlight.htmlescape(fragment.text[index:token.startchar]))
            output.append(self.format_token(fragment.text, token, replace))
            index = token.endchar
        output.append(highlight.htmlescape(fragment.text[index:fragment.endchar]))
        return "".join(output)


def excerpt_html(text: str, terms: list[tuple[str, str]], analyzer, *, top: int = 2) -> str:
    """Return an HTML excerpt of ``text`` with the query's terms marked (only <mark> survives)."""
    words = frozenset(t for _name, t in terms)
    if not text or not words:
        return ""
    fragmenter = highlight.ContextFragmenter(maxchars=160, surround=40)
    html = highlight.highlight(text, words, analyzer, fragmenter, _MarkFormatter(), top=top, mode="index")
    # Belt and braces: the formatter escapes, and the sanitiser lets nothing but <mark> through.
    return nh3.clean(html or "", tags={"mark"}, attributes={})

