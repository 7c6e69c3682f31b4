"""Bilingual harm-reduction and HIV glossary: concepts that join Chinese and English terms.

The shipped glossary is ``data/glossary.tsv`` (its header documents the format): one concept per
row, ``concept_id<TAB>Chinese terms<TAB>English terms``, terms separated by "|". Administrators'
extra rows use the same three fields, as tuples, and are merged in with ``Glossary.with_rows``;
a row that reuses a concept id adds synonyms to that concept.

``Glossary.expand`` analyses the query and each glossary term with the query tokenizer that
``search_index.analysis`` gives this module (:func:`use_tokenizer`) when it is imported, so
matching ignores case, full-width forms, Traditional/Simplified, English inflection and spacing
("Needle-Exchange programs" names "needle exchange"). It takes the leftmost-longest glossary term
at each point of the query, so 美沙酮维持治疗 names one concept, not also 美沙酮 and 治疗 separately.
Expansions are display terms: search each as a phrase of its ``query_tokens``.

Only the shipped Chinese terms join the word segmenter's dictionary (``chinese_terms``): run-time
rows must not change how notes already in the index were segmented.

In search's pipeline the glossary sits just above ``search_index.folding`` (it folds Chinese terms
to Simplified): analysis reads its terms, and it never imports analysis back.
"""
from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from search_index.folding import to_simplified

__all__ = ["Concept", "ExtraRow", "Glossary", "Span", "GLOSSARY_PATH", "abbreviations", "check_row", "chinese_terms",
           "default_glossary", "use_tokenizer"]

GLOSSARY_PATH = Path(__file__).resolve().parent / "data" / "glossary.tsv"

ExtraRow = tuple[str, str, str]
"""An administrator's row: (concept_id, Chinese terms, English terms), terms joined by "|"."""

_CONCEPT_ID = re.compile(r"[a-z0-9_]+")
_HAN_ONLY = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\U00020000-\U0003134f]+")
_LATIN_WORD = re.compile(r"[A-Za-z]+")
# Query term sequences longer than this are not looked up: no glossary term has more tokens.
_MAX_KEY_TOKENS = 12

Tokenizer = Callable[[str], list[str]]
_tokenizer: Tokenizer | None = None


def use_tokenizer(tokenize: Tokenizer) -> None:
    """Match terms by the tokens ``tokenize`` gives them (``search_index.analysis`` passes its query_tokens)."""
    global _tokenizer
    _tokenizer = tokenize
    _key.cache_clear()


@dataclass(frozen=True)
class Concept:
    """One glossary concept: its id, Chinese terms and English terms, preferred term first."""

    concept_id: str
    zh: tuple[str, ...]
    en: tuple[str, ...]

    @property
    def terms(self) -> tuple[str, ...]:
        """Return the Chinese then the English terms."""
        return self.zh + self.en


@dataclass(frozen=True)
class Span:
    """Words of a query that spell a glossary term: ``words[start:end]``."""

    start: int
    end: int
    key: tuple[str, ...]  # the analysed form of the words
    concept_ids: tuple[str, ...]  # the concepts that have this term
    others: tuple[str, ...]  # the other terms of those concepts, for "also searched"


class Glossary:
    """An immutable set of concepts that expands query terms into synonyms and translations."""

    def __init__(self, concepts: Iterable[Concept]) -> None:
        """Index the concepts by the analysed form of each of their terms."""
        self.concepts: tuple[Concept, ...] = tuple(concepts)
        self._by_key: dict[tuple[str, ...], list[int]] = {}
        self._keys: dict[tuple[str, ...], tuple[str, ...]] | None = None
        for number, concept in enumerate(self.concepts):
            for term in concept.terms:
                key = _key(term)
                if key and number not in self._by_key.setdefault(key, []):
                    self._by_key[key].append(number)

    def __len__(self) -> int:
        """Return the number of concepts."""
        return len(self.concepts)

    def expand(self, query_terms: Iterable[str]) -> list[str]:
        """Return the other terms of every concept the query terms name, in glossary order."""
        tokens = [token for term in query_terms for token in _key(term)]
        matched_keys, numbers = self._match(tokens)
        seen_keys = set(matched_keys)
        expansions: list[str] = []
        for number in sorted(numbers):
            for term in self.concepts[number].terms:
                key = _key(term)
                if key and key not in seen_keys:
                    seen_keys.add(key)
                    expansions.append(term)
        return expansions

    def matches(self, words: Sequence[str]) -> list[tuple[int, int, list[str]]]:
        """Return (first word, end word, other terms) for each glossary term the words spell.

        Spans are leftmost-longest over the words' tokens and never split a word, so a
        query "peer education clinic" yields the span of "peer education" and its Chinese terms.
        """
        spans = []
        start = 0
        while start < len(words):
            for end in range(len(words), start, -1):
                tokens = [token for word in words[start:end] for token in _key(word)]
                if tokens and tuple(tokens) in self._by_key:
                    spans.append((start, end, self.expand(words[start:end])))
                    start = end
                    break
            else:
                start += 1
        return spans

    def spans(self, words: Sequence[str]) -> list[Span]:
        """Return the glossary terms the words spell, leftmost-longest, with their concepts.

        Like :meth:`matches`, and each span also names its concepts' ids and the analysed form of
        the words it covers, so a search can use the index's concept tokens for shipped concepts.
        """
        spans = []
        for start, end, others in self.matches(words):
            key = tuple(token for word in words[start:end] for token in _key(word))
            ids = tuple(self.concepts[number].concept_id for number in self._by_key[key])
            spans.append(Span(start, end, key, ids, tuple(others)))
        return spans

    def terms_of(self, concept_id: str) -> tuple[str, ...]:
        """Return the terms of the concept called ``concept_id`` (empty when there is none)."""
        return next((c.terms for c in self.concepts if c.concept_id == concept_id), ())

    def keys(self) -> dict[tuple[str, ...], tuple[str, ...]]:
        """Return each term's analysed form with the ids of the concepts that have the term."""
        if self._keys is None:
            self._keys = {key: tuple(self.concepts[n].concept_id for n in numbers)
                          for key, numbers in self._by_key.items()}
        return self._keys

    def concept_of(self, term: str) -> str | None:
        """Return the id of the concept that has ``term`` among its terms (or is called ``term``)."""
        if any(c.concept_id == term for c in self.concepts):
            return term
        numbers = self._by_key.get(_key(term), [])
        return self.concepts[numbers[0]].concept_id if numbers else None

    def with_rows(self, rows: Iterable[ExtraRow]) -> Glossary:
        """Return a glossary with administrators' rows merged in; raise ValueError on a bad row."""
        concepts = {concept.concept_id: concept for concept in self.concepts}
        for row in rows:
            extra = _concept(row)
            known = concepts.get(extra.concept_id)
            if known is not None:
                extra = Concept(extra.concept_id, _unique(known.zh + extra.zh),
                                _unique(known.en + extra.en))
            concepts[extra.concept_id] = extra
        return Glossary(concepts.values())

    def _match(self, tokens: Sequence[str]) -> tuple[list[tuple[str, ...]], set[int]]:
        """Find the leftmost-longest glossary keys in tokens: the keys and their concepts."""
        keys: list[tuple[str, ...]] = []
        numbers: set[int] = set()
        index = 0
        while index < len(tokens):
            longest = min(_MAX_KEY_TOKENS, len(tokens) - index)
            for length in range(longest, 0, -1):
                key = tuple(tokens[index:index + length])
                if key in self._by_key:
                    keys.append(key)
                    numbers.update(self._by_key[key])
                    index += length
                    break
            else:
                index += 1
        return keys, numbers


@functools.cache
def default_glossary() -> Glossary:
    """Return the shipped glossary (built once per process)."""
    return Glossary(_shipped_concepts())


def chinese_terms() -> list[str]:
    """Return the shipped Chinese terms made only of Han characters, for the segmenter."""
    terms = {term for concept in _shipped_concepts() for term in concept.zh}
    return sorted(term for term in terms if len(term) > 1 and _HAN_ONLY.fullmatch(term))


def abbreviations() -> frozenset[str]:
    """Return the shipped English abbreviations (two or more capitals), lower-cased."""
    return frozenset(
        word.lower()
        for concept in _shipped_concepts()
        for term in concept.en
        for word in _LATIN_WORD.findall(term)
        if _is_abbreviation(word)
    )


def _is_abbreviation(word: str) -> bool:
    """Tell whether word is an abbreviation such as MMT or PrEP (not a plural such as ARVs)."""
    capitals = sum(char.isupper() for char in word)
    return capitals >= 2 and not (word.endswith("s") and word[:-1].isupper())


@functools.cache
def _shipped_concepts() -> tuple[Concept, ...]:
    """Read data/glossary.tsv (once per process)."""
    return tuple(_concept(row) for row in _parse(GLOSSARY_PATH.read_text(encoding="utf-8")))


def check_row(row: ExtraRow) -> None:
    """Raise ValueError when an administrator's row is malformed."""
    _concept(row)


def _parse(text: str) -> list[ExtraRow]:
    """Split glossary file text into rows; raise ValueError naming the first malformed line."""
    rows: list[ExtraRow] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        fields = line.split("\t")
        if len(fields) != 3:
            raise ValueError(f"glossary line {number}: expected 3 tab-separated fields")
        rows.append((fields[0], fields[1], fields[2]))
    return rows


def _concept(row: ExtraRow) -> Concept:
    """Build a concept from a row, folding Chinese terms to Simplified; raise ValueError if bad."""
    concept_id, zh, en = (field.strip() for field in row)
    if not _CONCEPT_ID.fullmatch(concept_id):
        raise ValueError(f"glossary concept id {concept_id!r} is not [a-z0-9_]+")
    concept = Concept(concept_id, _unique(to_simplified(term) for term in _split(zh)),
                      _unique(_split(en)))
    if not concept.terms:
        raise ValueError(f"glossary concept {concept_id!r} has no terms")
    return concept


def _split(field: str) -> list[str]:
    """Split a "|"-separated field into its non-empty terms, with whitespace collapsed."""
    return [" ".join(term.split()) for term in field.split("|") if term.strip()]


def _unique(terms: Iterable[str]) -> tuple[str, ...]:
    """Return terms without repeats, keeping the first occurrence's place."""
    return tuple(dict.fromkeys(terms))


@functools.lru_cache(maxsize=4096)
def _key(term: str) -> tuple[str, ...]:
    """Return the analysed form of a term: the tokens the index would hold for it."""
    if _tokenizer is None:
        raise RuntimeError("the glossary has no tokenizer yet: import search_index.analysis, which gives it one")
    return tuple(_tokenizer(term))
