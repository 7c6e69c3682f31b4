"""Matching, scoring and facet counting over the Whoosh index's postings, with numpy arrays.

Whoosh stores the index (segments, postings with positions, columns) and analyses text; this
module answers queries over it. Whoosh's own searcher visits every matching document in Python,
once to count facets and again to score, which costs seconds at 100k notes. Here a term's
postings are arrays (document numbers, frequencies, positions) and every step is an array
operation over all documents at once:

- a query is a :class:`Plan`: units joined by AND (or OR), each unit a set of alternatives, each
  alternative one or more :class:`Leaf` terms or phrases that must all occur; excluded units;
- a leaf in a field gives its documents and frequencies: a term from its postings, a phrase from
  its terms' positions (document and position packed into one int64, shifted by the word's place
  in the phrase, then intersected); one Han character alone stands for every indexed term that
  contains it, found in the segment's lexicon (characters inside longer words are not indexed
  alone), while in a phrase it must be a word of its own there (不应 is not in 不|应该);
- matching is boolean masks over every document; scoring is BM25F — per field
  ``boost × idf × tf·(k1+1) / (tf + k1·(1 − b + b·length/average length))``, summed over fields and
  leaves, with Whoosh's ``idf = log(N / (df + 1)) + 1`` (a phrase: the sum of its terms' idfs);
- facets count with one ``bincount`` over (document, value) pairs read from the facet fields'
  postings; the top hits come from ``argpartition``.

A segment's postings are read from its arrays file (search_index/postings.py), which the hub's
codec writes beside Whoosh's files: a term's documents and frequencies are two reads of that file,
nothing is decoded. A segment without that file (written by another writer) is read from
Whoosh 3's posting blocks through ``W3LeafMatcher``'s block attributes (``_read_data``,
``_data``…): the package is pinned, and tests compare both ways with Whoosh's public matchers.

A :class:`Snapshot` holds what is derived from one index commit: the live-document mask, the
audience and facet arrays, field lengths and publication times. What it reads from a segment
(postings, position keys, a character's terms, facet values, columns) goes into an
:class:`ArrayCache` shared by the process's snapshots, keyed by segment id — segments never
change once written, so after a commit only new segments are read. The cache is an LRU with a
byte budget. Snapshots are shared by a process's threads; each thread reads through
its own Whoosh reader (file positions are per reader); all readers of one commit hold the same data.
"""
from __future__ import annotations

import math
import re
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
from whoosh.matching.wrappers import FilterMatcher
from whoosh.reading import IndexReader, TermNotFound
from whoosh.util.numeric import byte_to_length

from search_index.folding import HAN_RANGES
from search_index.postings import EMPTY_KEYS, POSITION_BITS, in_sorted, length_bytes, segment_arrays
from search_index.schema import FACETS, TEXT_FIELDS

K1 = 1.2
B = 0.75
_LENGTH_OF_BYTE = np.array([byte_to_length(b) for b in range(256)], dtype=np.float32)
_EMPTY_DOCS = np.zeros(0, dtype=np.int32)
_EMPTY_FREQS = np.zeros(0, dtype=np.float32)
_ONE_HAN = re.compile(f"[{HAN_RANGES}]")


@dataclass(frozen=True)
class Leaf:
    """A term (one token) or a phrase (several tokens at consecutive positions).

    ``parts``: a word's units, searched as a phrase instead of the word when no document holds
    the word in the plan's fields (jieba never segmented it as one word in any note).
    """

    tokens: tuple[str, ...]
    parts: tuple[str, ...] = ()


@dataclass(frozen=True)
class Unit:
    """Alternatives: the unit matches where every leaf of at least one alternative occurs."""

    alternatives: tuple[tuple[Leaf, ...], ...]


@dataclass(frozen=True)
class Plan:
    """A whole query: units joined by ``mode`` ("and"/"or"), minus the excluded units.

    No units and ``everything`` lists every document; no units otherwise matches nothing.
    """

    units: tuple[Unit, ...] = ()
    mode: str = "and"
    excluded: tuple[Unit, ...] = ()
    everything: bool = False
    fields: tuple[str, ...] = tuple(TEXT_FIELDS)


@dataclass
class Found:
    """What a plan matched: the total, the top document numbers and the facet counts."""

    total: int
    docnums: list[int]
    scores: list[float]
    facets: dict[str, list[tuple[str, int]]] = field(default_factory=dict)


class _Facet:
    """The values of one facet field for every document, for counting and filtering.

    ``by_doc`` holds each document's value numbers in a row (-1 where a document has fewer than
    the most any document has: most facets hold one value per document, topics a few), so the
    values of the matching documents are one gather of their rows, counted with one ``bincount``.
    """

    def __init__(self, values: list[str], docs: np.ndarray, codes: np.ndarray, size: int) -> None:
        self.values = values
        self.size = size
        per_doc = np.bincount(docs, minlength=size) if len(docs) else np.zeros(size, dtype=np.int64)
        width = int(per_doc.max()) if size else 0
        self.by_doc = np.full((size, max(width, 1)), -1, dtype=np.int32)
        if len(docs):
            order = np.argsort(docs, kind="stable")
            docs, codes = docs[order], codes[order]
            starts = np.cumsum(per_doc) - per_doc
            self.by_doc[docs, np.arange(len(docs)) - starts[docs]] = codes

    def top(self, counts: np.ndarray, limit: int) -> list[tuple[str, int]]:
        """Return the ``limit`` most frequent values, with their counts (``counts`` by value number)."""
        order = sorted(np.flatnonzero(counts).tolist(), key=lambda i: (-counts[i], self.values[i]))
        return [(self.values[i], int(counts[i])) for i in order[:limit]]

    def mask(self, value: str) -> np.ndarray:
        """Return the documents that have ``value``."""
        if value not in self.values:
            return np.zeros(self.size, dtype=bool)
        return (self.by_doc == self.values.index(value)).any(axis=1)


# At most this many combinations in one column of the facet table (its counts are summed back per facet).
_GROUP_BINS = 4096


@dataclass
class _FacetCodes:
    """One facet's number per document: for a facet of one value per document, the value's number
    plus one (0: none); for one that may hold several, the number of the document's set of values
    among the sets that occur (``sets``: each set's value numbers, -1 padding)."""

    size: int
    sets: np.ndarray | None

    def value_counts(self, code_counts: np.ndarray, values: int) -> np.ndarray:
        """Return the counts by value number from the counts by code."""
        if self.sets is None:
            return code_counts[1:]
        held = self.sets >= 0
        weights = np.broadcast_to(code_counts[:, None], self.sets.shape)[held]
        return np.bincount(self.sets[held], weights=weights, minlength=values).astype(np.int64)


@dataclass
class _FacetTable:
    """Facets' codes per document, combined into a few columns (see :meth:`Snapshot._facet_table`)."""

    columns: list[np.ndarray]  # one per group of facets: each document's combined code
    groups: list[tuple[str, ...]]
    codes: dict[str, _FacetCodes]

    def count(self, docs: np.ndarray) -> list[np.ndarray]:
        """Return each group's counts by combined code among ``docs``."""
        return [np.bincount(column[docs], minlength=math.prod(self.codes[name].size for name in group))
                for column, group in zip(self.columns, self.groups)]

    def code_counts(self, counted: list[np.ndarray]) -> dict[str, np.ndarray]:
        """Return each facet's counts by code from its group's counts."""
        found = {}
        for counts, group in zip(counted, self.groups):
            shaped = counts.reshape([self.codes[name].size for name in group])
            for axis, name in enumerate(group):
                found[name] = shaped.sum(axis=tuple(i for i in range(len(group)) if i != axis))
        return found


class ArrayCache:
    """An LRU of arrays bounded by their total size in bytes, safe to share between threads."""

    def __init__(self, budget: int) -> None:
        self.budget = budget
        self.used = 0
        self._items: OrderedDict[tuple, tuple[np.ndarray, ...]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple) -> tuple[np.ndarray, ...] | None:
        with self._lock:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
            return value

    def clear(self) -> None:
        """Forget every array."""
        with self._lock:
            self._items.clear()
            self.used = 0

    def put(self, key: tuple, value: tuple[np.ndarray, ...]) -> None:
        size = sum(array.nbytes for array in value)
        with self._lock:
            if key in self._items:
                return
            self._items[key] = value
            self.used += size
            while self.used > self.budget and len(self._items) > 1:
                _key, old = self._items.popitem(last=False)
                self.used -= sum(array.nbytes for array in old)


class Snapshot:
    """Arrays of one commit of the index, shared by threads; segment arrays outlive the commit.

    A commit adds segments and marks deletions, but never changes a segment's postings or columns,
    so what is read from a segment is cached by the segment's id (in ``cache``, shared by the
    process's snapshots) with segment-local document numbers; a snapshot adds each segment's offset.
    The first search after the worker commits a note reads only the new, small segment.
    """

    def __init__(self, reader: IndexReader, *, cache: ArrayCache | None = None) -> None:
        self.size = reader.doc_count_all()
        self.doc_count = max(reader.doc_count(), 1)
        # The segments in order (their offsets follow from it): the layout phrase results are cached by.
        self._segment_ids = tuple(segment._segment.segment_id() for segment, _offset in reader.leaf_readers())
        # Held open while the snapshot lives (search_index/postings.py closes files no one holds).
        self._files = [segment_arrays(segment) for segment, _offset in reader.leaf_readers()]
        self._cache = cache if cache is not None else ArrayCache(64 << 20)
        self._local = threading.local()
        self.bind(reader)
        # Whoosh opens a segment's columns when they are first read, by name: read the ones every
        # search may rank by now, while this commit's files exist (a merge may delete them before
        # the first search, and a column that is gone reads as zeros). Cached per segment, so a
        # new snapshot reads only its new segments.
        self.published  # noqa: B018
        for field_name in TEXT_FIELDS:
            self.lengths(field_name)

    # --- reading -------------------------------------------------------------------------------

    def bind(self, reader: IndexReader) -> Snapshot:
        """Read postings through ``reader`` (the calling thread's reader of the same commit)."""
        self._local.reader = reader
        return self

    @property
    def _reader(self) -> IndexReader:
        """Return the calling thread's reader: never another thread's, which that thread may close."""
        return self._local.reader

    def _segments(self, what: str, *args: str, read) -> list[tuple[tuple[np.ndarray, ...], int]]:
        """Return ``read(segment, *args)`` for every segment, cached by segment id, with its offset."""
        parts = []
        for (segment, offset), segment_id in zip(self._reader.leaf_readers(), self._segment_ids):
            key = (segment_id, what, *args)
            arrays = self._cache.get(key)
            if arrays is None:
                arrays = read(segment, *args)
                self._cache.put(key, arrays)
            parts.append((arrays, offset))
        return parts

    def postings(self, field_name: str, text: str) -> tuple[np.ndarray, np.ndarray]:
        """Return the documents that hold a term in a field, and the term's frequency in each."""
        return self._joined("postings", field_name, text, read=_postings, join=_join_postings)

    def positions(self, field_name: str, text: str) -> np.ndarray:
        """Return a term's occurrences in a field as sorted int64 keys: document << 32 | position."""
        return self._joined("positions", field_name, text, read=_positions, join=_join_positions)[0]

    def term(self, field_name: str, text: str) -> tuple[np.ndarray, np.ndarray]:
        """Return a query term's documents and frequencies: one Han character stands for every term
        that contains it (characters inside longer words are not indexed on their own)."""
        if not _is_one_han(text):
            return self.postings(field_name, text)
        return self._joined("character", field_name, text, read=_character_postings, join=_join_postings)

    def term_positions(self, field_name: str, text: str) -> np.ndarray:
        """Return a query term's occurrences, one Han character standing for the terms that contain it."""
        if not _is_one_han(text):
            return self.positions(field_name, text)
        return self._joined("character positions", field_name, text, read=_character_positions,
                            join=_join_positions)[0]

    def _positions_among(self, field_name: str, text: str, candidates: np.ndarray) -> np.ndarray:
        """Return a term's position keys in the ``candidates`` documents only."""
        cached = all(self._cache.get((segment_id, "positions", field_name, text)) is not None
                     for segment_id in self._segment_ids)
        # Most of the word's documents: read all its positions once and keep them for later phrases.
        if cached or len(candidates) * 4 >= len(self.postings(field_name, text)[0]):
            keys = self.positions(field_name, text)
            return keys[in_sorted(keys >> POSITION_BITS, candidates)]
        parts = []
        for segment, offset in self._reader.leaf_readers():
            inside = candidates[(candidates >= offset) & (candidates < offset + segment.doc_count_all())] - offset
            if len(inside):
                parts.append((_positions(segment, field_name, text, among=inside), offset))
        return _join_positions(parts)[0]

    def _joined(self, what: str, field_name: str, text: str, *, read, join) -> tuple[np.ndarray, ...]:
        """Return the segments' arrays joined into whole-index numbers.

        Not cached: joining costs microseconds, while a second copy of every array would halve what
        the cache holds (phrases, the only users of long position lists, are cached whole).
        """
        return join(self._segments(what, field_name, text, read=read))

    # --- per-commit arrays -----------------------------------------------------------------------

    def _term_mask(self, field_name: str, text: str) -> np.ndarray:
        mask = np.zeros(self.size, dtype=bool)
        mask[self.postings(field_name, text)[0]] = True
        return mask

    @cached_property
    def live(self) -> np.ndarray:
        """Return the mask of note documents that are not deleted."""
        mask = self._term_mask("kind", "note")
        for segment, offset in self._reader.leaf_readers():
            deleted = list(segment.deleted_docs_set)
            if deleted:
                mask[np.asarray(deleted, dtype=np.int64) + offset] = False
        return mask

    @cached_property
    def public(self) -> np.ndarray:
        """Return the mask of public notes."""
        return self._term_mask("visibility", "public")

    def facet(self, name: str) -> _Facet:
        """Return the (document, value) pairs of a facet field."""
        facets = self.__dict__.setdefault("_facets", {})
        if name not in facets:
            values: dict[str, int] = {}
            docs, codes = [], []
            for (local_values, local_docs, local_codes), offset in self._segments("facet", name, read=_facet):
                # Each segment numbers its own values: map them onto this snapshot's numbering.
                mapping = np.asarray([values.setdefault(str(v), len(values)) for v in local_values], dtype=np.int32)
                docs.append(local_docs + offset)
                codes.append(mapping[local_codes] if len(mapping) else local_codes)
            facets[name] = _Facet(list(values), np.concatenate(docs) if docs else _EMPTY_DOCS,
                                  np.concatenate(codes) if codes else np.zeros(0, dtype=np.int32), self.size)
        return facets[name]

    @cached_property
    def _facet_table(self) -> _FacetTable:
        """Return every document's facets as a few columns of numbers, each counted with one ``bincount``.

        Each facet gives a document a code (:class:`_FacetCodes`): topics a document holds are one
        code for the set, as only some hundreds of sets occur. Codes of facets next to each other
        combine into one number per document (mixed radix) as long as a group has at most
        ``_GROUP_BINS`` combinations: a column per group, not a column per facet and value slot,
        which made counting several times slower.
        """
        codes: dict[str, _FacetCodes] = {}
        per_doc: dict[str, np.ndarray] = {}
        for name in FACETS:
            by_doc = self.facet(name).by_doc
            if by_doc.shape[1] == 1:
                codes[name], per_doc[name] = _FacetCodes(len(self.facet(name).values) + 1, None), by_doc[:, 0] + 1
            else:
                sets, inverse = _distinct_rows(by_doc, len(self.facet(name).values))
                codes[name], per_doc[name] = _FacetCodes(len(sets), sets), inverse
        groups: list[tuple[str, ...]] = []
        for name in FACETS:
            if groups and math.prod(codes[g].size for g in groups[-1]) * codes[name].size <= _GROUP_BINS:
                groups[-1] += (name,)
            else:
                groups.append((name,))
        columns = []
        for group in groups:
            column = np.zeros(self.size, dtype=np.intp)
            for name in group:
                column = column * codes[name].size + per_doc[name]
            columns.append(column)
        return _FacetTable(columns, groups, codes)

    def facet_counts(self, matched: np.ndarray, limit: int, *,
                     among: bool | None = None) -> dict[str, list[tuple[str, int]]]:
        """Return each facet's ``limit`` most frequent values among the ``matched`` documents (their
        numbers), with counts: a gather and a ``bincount`` per column of :meth:`_facet_table`.

        ``among``: ``matched`` were chosen from an audience's documents (:meth:`audience`, this
        value its ``public_only``) with no other filter. When more than half of those match, the
        others are counted and taken from the audience's counts, kept per snapshot: less to count.
        """
        table = self._facet_table
        if among is not None:
            kept = self.__dict__.setdefault("_facet_totals", {})
            if among not in kept:
                docs = np.flatnonzero(self.audience(among))
                kept[among] = (len(docs), table.count(docs))
            size, totals = kept[among]
            if 2 * len(matched) > size:
                rest = self.audience(among).copy()
                rest[matched] = False
                counted = [total - part for total, part in zip(totals, table.count(np.flatnonzero(rest)))]
            else:
                counted = table.count(matched)
        else:
            counted = table.count(matched)
        by_code = table.code_counts(counted)
        return {name: self.facet(name).top(table.codes[name].value_counts(by_code[name], len(self.facet(name).values)),
                                           limit) for name in FACETS}

    def audience(self, public_only: bool) -> np.ndarray:
        """Return the live documents an audience may find (public ones only, or all): read-only."""
        masks = self.__dict__.setdefault("_audiences", {})
        if public_only not in masks:
            mask = self.live & self.public if public_only else self.live.copy()
            mask.flags.writeable = False
            masks[public_only] = mask
        return masks[public_only]

    def lengths(self, field_name: str) -> np.ndarray:
        """Return every document's length of a text field, in tokens (as Whoosh encodes it)."""
        lengths = self.__dict__.setdefault("_lengths", {})
        if field_name not in lengths:
            lengths[field_name] = _LENGTH_OF_BYTE[self._column(field_name, lengths=True)]
        return lengths[field_name]

    def average_length(self, field_name: str) -> float:
        """Return the average length of a text field over all documents."""
        return (self._reader.field_length(field_name) / self.doc_count) or 1.0

    @cached_property
    def ids(self) -> np.ndarray:
        """Return every document's note id (-1 for the cursor document), from the id field's terms."""
        parts = [ids for (ids,), _offset in self._segments("ids", "id", read=_note_ids)]
        return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)

    def note_ids(self, docnums: Sequence[int]) -> list[int]:
        """Return the note ids of documents, as found by :meth:`run`."""
        return self.ids[np.asarray(docnums, dtype=np.int64)].tolist()

    @cached_property
    def published(self) -> np.ndarray:
        """Return every document's publication time as a sortable integer (0 when none)."""
        return self._column("published", lengths=False)

    def _column(self, name: str, *, lengths: bool) -> np.ndarray:
        """Return a fixed-width column (a field's length bytes, or a number) over all segments."""
        what = "lengths" if lengths else "column"
        parts = [values for (values,), _offset in self._segments(what, name, read=_column_reader(lengths))]
        return np.concatenate(parts) if parts else np.zeros(0, dtype=np.uint8 if lengths else np.uint64)

    # --- answering ------------------------------------------------------------------------------

    def idf(self, field_name: str, text: str) -> float:
        """Return Whoosh's inverse document frequency of a term in a field."""
        return math.log(self.size / (len(self.term(field_name, text)[0]) + 1)) + 1

    def leaf(self, field_name: str, leaf: Leaf) -> tuple[np.ndarray, np.ndarray]:
        """Return the documents where a leaf occurs in a field, and how often."""
        if len(leaf.tokens) == 1:
            return self.term(field_name, leaf.tokens[0])
        key = (self._segment_ids, "phrase", field_name, leaf.tokens)
        found = self._cache.get(key)
        if found is None:
            found = self._phrase(field_name, leaf.tokens)
            self._cache.put(key, found)
        return found[0], found[1]

    def _phrase(self, field_name: str, tokens: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
        """Return the documents where ``tokens`` stand at consecutive positions, and how often.

        The documents holding every token come first, from the postings. A word whose documents
        are mostly candidates has all its positions read and cached for later phrases; a word
        found in many more documents than the candidates has positions read only there.
        """
        order = sorted(enumerate(tokens), key=lambda item: len(self.postings(field_name, item[1])[0]))
        candidates = None
        for _place, token in order:
            docs = self.postings(field_name, token)[0]
            candidates = docs if candidates is None else _intersect_sorted(candidates, docs)
            if not len(candidates):
                return _EMPTY_DOCS, _EMPTY_FREQS
        keys = None
        for place, token in order:
            positions = self._positions_among(field_name, token, candidates)
            # keys are phrase starts; only the (small) candidates are shifted, never a long list
            keys = positions - place if keys is None else _intersect_sorted(keys + place, positions) - place
            if not len(keys):
                return _EMPTY_DOCS, _EMPTY_FREQS
        docs, counts = np.unique(keys >> POSITION_BITS, return_counts=True)
        return docs.astype(np.int32), counts.astype(np.float32)

    def unit(self, unit: Unit, fields: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """Return the mask of documents a unit matches, and their scores."""
        match = np.zeros(self.size, dtype=bool)
        scores = np.zeros(self.size, dtype=np.float32)
        for alternative in unit.alternatives:
            both = np.ones(self.size, dtype=bool) if alternative else np.zeros(self.size, dtype=bool)
            alt_scores = np.zeros(self.size, dtype=np.float32)
            for leaf in alternative:
                if leaf.parts and not any(len(self.term(name, leaf.tokens[0])[0]) for name in fields):
                    leaf = Leaf(leaf.parts)
                leaf_match = np.zeros(self.size, dtype=bool)
                for name in fields:
                    docs, freqs = self.leaf(name, leaf)
                    if not len(docs):
                        continue
                    leaf_match[docs] = True
                    alt_scores[docs] += self._bm25(name, leaf, docs, freqs)
                both &= leaf_match
            match |= both
            scores += np.where(both, alt_scores, 0)
        return match, scores

    def _bm25(self, field_name: str, leaf: Leaf, docs: np.ndarray, freqs: np.ndarray) -> np.ndarray:
        idf = sum(self.idf(field_name, token) for token in leaf.tokens)
        norm = K1 * (1 - B + B * self.lengths(field_name)[docs] / self.average_length(field_name))
        return (TEXT_FIELDS.get(field_name, 1.0) * idf * freqs * (K1 + 1) / (freqs + norm)).astype(np.float32)

    def run(self, plan: Plan, *, public_only: bool, filters: dict[str, str], limit: int, newest: bool,
            offset: int = 0, facets: bool = True, facet_limit: int = 12) -> Found:
        """Match, count, facet and rank ``plan`` for an audience; return the top ``limit`` documents
        from ``offset`` on (a page's)."""
        match = self.audience(public_only).copy()
        for name, value in sorted(filters.items()):
            if name in FACETS:
                match &= self.facet(name).mask(value)
        scores = np.zeros(self.size, dtype=np.float32)
        if plan.units:
            combined = None
            for unit in plan.units:
                unit_match, unit_scores = self.unit(unit, plan.fields)
                if combined is None:
                    combined = unit_match
                elif plan.mode == "and":
                    combined &= unit_match
                else:
                    combined |= unit_match
                scores += unit_scores
            match &= combined
        elif not plan.everything:
            match[:] = False
        for unit in plan.excluded:
            match &= ~self.unit(unit, plan.fields)[0]
        matched = np.flatnonzero(match)
        among = None if any(name in FACETS for name in filters) else public_only
        counted = self.facet_counts(matched, facet_limit, among=among) if facets else {}
        docnums = self._top(matched, scores, limit, newest=newest or not plan.units)[offset:]
        return Found(total=len(matched), docnums=docnums.tolist(), scores=scores[docnums].tolist(), facets=counted)

    def _top(self, candidates: np.ndarray, scores: np.ndarray, limit: int, *, newest: bool) -> np.ndarray:
        """Return the best ``limit`` of the matching documents ``candidates``: by score, or newest; ties
        newest first, then by note id (higher first), so every process and every index of the same
        notes pages alike."""
        if not len(candidates) or limit <= 0:
            return candidates[:0]
        published = self.published[candidates].astype(np.float64)
        if newest:
            primary = published
            secondary = np.zeros(len(candidates))
        else:
            primary = scores[candidates].astype(np.float64)
            secondary = published
        if len(candidates) > limit:
            # Everything that could be among the best: at least the limit-th best primary key.
            threshold = np.partition(primary, len(primary) - limit)[len(primary) - limit]
            keep = primary >= threshold
            candidates, primary, secondary = candidates[keep], primary[keep], secondary[keep]
        # Document numbers differ between indexes and change as segments merge: note ids do not.
        order = np.lexsort((-self.ids[candidates], -secondary, -primary))[:limit]
        return candidates[order]


# --- reading one segment (segment-local document numbers) ----------------------------------------


def _blocks(segment, field_name: str, text: str, *, values: bool):
    """Yield (ids, weights, values or None) per posting block of a term in one segment."""
    try:
        matcher = segment.postings(field_name, text)
    except (TermNotFound, KeyError):
        return
    if isinstance(matcher, FilterMatcher):  # deletions: the snapshot's live mask removes them
        matcher = matcher.child
    while matcher.is_active():
        # The block's (ids, weights, values) tuple, decoded here with numpy: Whoosh's own
        # _read_ids/_read_weights undo the delta coding and fill weights one posting at a time.
        matcher._read_data()
        raw_ids, raw_weights = matcher._data[0], matcher._data[1]
        count = matcher._blocklength
        ids = np.asarray(raw_ids, dtype=np.int64)
        if not matcher._byteids:
            ids = np.cumsum(ids)
        if raw_weights is None:
            weights = np.ones(count, dtype=np.float32)
        elif isinstance(raw_weights, float):
            weights = np.full(count, raw_weights, dtype=np.float32)
        else:
            weights = np.asarray(raw_weights, dtype=np.float32)
        if values:
            matcher._read_values()
        yield ids.astype(np.int32), weights, matcher._values if values else None
        matcher._next_block()


def _postings(segment, field_name: str, text: str) -> tuple[np.ndarray, np.ndarray]:
    """Return a term's documents and frequencies in one segment."""
    arrays = segment_arrays(segment)
    if arrays is not None:
        found = arrays.postings(field_name, text)
        return found if found is not None else (_EMPTY_DOCS, _EMPTY_FREQS)
    docs, weights = [], []
    for ids, block_weights, _values in _blocks(segment, field_name, text, values=False):
        docs.append(ids)
        weights.append(block_weights)
    if not docs:
        return _EMPTY_DOCS, _EMPTY_FREQS
    boost = segment.schema[field_name].format.field_boost or 1.0  # Whoosh stores frequency × field boost
    return np.concatenate(docs), np.concatenate(weights) / boost


def _positions(segment, field_name: str, text: str, among: np.ndarray | None = None) -> tuple[np.ndarray]:
    """Return a term's occurrences in one segment as sorted keys: document << 32 | position.

    With ``among`` (sorted segment-local document numbers), only those documents' positions.
    """
    arrays = segment_arrays(segment)
    if arrays is not None:
        return (arrays.positions(field_name, text, among),)
    # A segment without an arrays file: Whoosh's blocks, each posting's value its positions as uint32.
    decode = segment.schema[field_name].format.decode_positions
    docs, counts, flat = [], [], []
    for ids, _weights, values in _blocks(segment, field_name, text, values=True):
        if among is not None:
            wanted = in_sorted(ids, among)
            ids, values = ids[wanted], [value for value, keep in zip(values, wanted) if keep]
        for value in values:
            positions = decode(value)
            counts.append(len(positions))
            flat.extend(positions)
        docs.append(ids)
    if not docs:
        return (EMPTY_KEYS,)
    owners = np.repeat(np.concatenate(docs).astype(np.int64), np.asarray(counts, dtype=np.int64))
    return ((owners << POSITION_BITS) | np.asarray(flat, dtype=np.int64),)


def _join_postings(parts) -> tuple[np.ndarray, np.ndarray]:
    """Join per-segment (documents, frequencies) into whole-index document numbers."""
    parts = [(arrays, offset) for arrays, offset in parts if len(arrays[0])]
    if not parts:
        return _EMPTY_DOCS, _EMPTY_FREQS
    if len(parts) == 1 and not parts[0][1]:
        return parts[0][0]
    return (np.concatenate([docs + offset for (docs, _freqs), offset in parts]),
            np.concatenate([freqs for (_docs, freqs), _offset in parts]))


def _join_positions(parts) -> tuple[np.ndarray]:
    """Join per-segment position keys into whole-index keys (document << 32 | position)."""
    parts = [(keys, offset) for (keys,), offset in parts if len(keys)]
    if len(parts) == 1 and not parts[0][1]:
        return (parts[0][0],)
    return (np.concatenate([keys + (offset << POSITION_BITS) for keys, offset in parts] or
                           [EMPTY_KEYS]),)


def _intersect_sorted(small: np.ndarray, large: np.ndarray) -> np.ndarray:
    """Return the values of sorted, duplicate-free ``small`` that ``large`` (sorted) also holds."""
    return small[in_sorted(small, large)]


def _is_one_han(text: str) -> bool:
    return len(text) == 1 and _ONE_HAN.match(text) is not None


def _containing(segment, field_name: str, character: str) -> list[str]:
    """Return the terms of a field in one segment that contain ``character`` (itself included)."""
    encoded = character.encode("utf-8")  # UTF-8 is self-synchronising: a byte match is a character match
    return [term.decode("utf-8") for term in segment.lexicon(field_name) if encoded in term]


def _character_postings(segment, field_name: str, character: str) -> tuple[np.ndarray, np.ndarray]:
    """Return the documents of one segment with ``character`` anywhere in a term, and how often.

    Counted by position: a unit and a longer sub-word starting at the same place (美沙酮 and
    美沙酮维持治疗) hold one occurrence of 沙, not two.
    """
    keys = _character_positions(segment, field_name, character)[0]
    docs, counts = np.unique(keys >> POSITION_BITS, return_counts=True)
    return docs.astype(np.int32), counts.astype(np.float32)


def _character_positions(segment, field_name: str, character: str) -> tuple[np.ndarray]:
    """Return the positions of the terms of one segment that contain ``character``, as sorted keys."""
    arrays = segment_arrays(segment)
    if arrays is not None:
        return (arrays.character_positions(field_name, character),)
    parts = [_positions(segment, field_name, term)[0] for term in _containing(segment, field_name, character)]
    return (np.unique(np.concatenate(parts)) if parts else EMPTY_KEYS,)


def _facet(segment, name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return a facet field's values in one segment, with (document, value number) pairs."""
    arrays = segment_arrays(segment)
    if arrays is not None:
        values, docs, codes = arrays.values(name)
        return np.asarray(values, dtype=str), docs, codes
    values, docs, codes = [], [], []
    for value in segment.field_terms(name):
        found = _postings(segment, name, value)[0]
        docs.append(found)
        codes.append(np.full(len(found), len(values), dtype=np.int32))
        values.append(value)
    if not values:
        return np.asarray([], dtype=str), _EMPTY_DOCS, np.zeros(0, dtype=np.int32)
    return np.asarray(values, dtype=str), np.concatenate(docs), np.concatenate(codes)


def _note_ids(segment, name: str) -> tuple[np.ndarray]:
    """Return the note id of every document of one segment (-1 for none), from the terms of field ``name``.

    Read from the postings (each document holds one id term), not from Whoosh's stored fields:
    a slice of a file the snapshot holds open, with no value unpickled per document.
    """
    values, docs, codes = _facet(segment, name)
    numbers = np.asarray([int(value) if value.isdigit() else -1 for value in values.tolist()], dtype=np.int64)
    ids = np.full(segment.doc_count_all(), -1, dtype=np.int64)
    if len(docs):
        ids[docs] = numbers[codes]
    return (ids,)


def _column_reader(lengths: bool):
    """Return a reader of one segment's fixed-width column: a field's length bytes, or a number."""
    dtype = ">u1" if lengths else ">u8"

    def read(segment, name: str) -> tuple[np.ndarray]:
        values = np.zeros(segment.doc_count_all(), dtype=np.dtype(dtype).newbyteorder("="))
        raw = length_bytes(segment._perdoc, name) if lengths else _number_bytes(segment, name)
        if raw is not None:
            found = np.frombuffer(raw, dtype=dtype)
            values[:len(found)] = found
        return (values,)

    return read


def _number_bytes(segment, name: str) -> bytes | None:
    """Return a sortable field's fixed-width column of one segment, read in one go (None without one)."""
    if not segment.has_column(name):
        return None
    reader = segment._perdoc.column_reader(name, segment.schema[name].column_type)
    if not hasattr(reader, "_fixedlen"):
        return None
    return reader._dbfile.get(reader._basepos, reader._count * reader._fixedlen)


def _distinct_rows(rows: np.ndarray, values: int) -> tuple[np.ndarray, np.ndarray]:
    """Return the distinct rows of a facet's value numbers (-1: none) and each row's number among them.

    Each row is read as one number (mixed radix over the values plus none), sorted by ``np.unique``
    in one dimension; rows too wide for that go through ``np.unique`` by rows.
    """
    width = rows.shape[1]
    if (values + 1) ** width >= 1 << 62:
        found, inverse = np.unique(rows, axis=0, return_inverse=True)
        return found, inverse.reshape(-1)
    keys = np.zeros(len(rows), dtype=np.int64)
    for slot in range(width):
        keys = keys * (values + 1) + (rows[:, slot].astype(np.int64) + 1)
    _keys, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
    return rows[first], inverse.reshape(-1)
