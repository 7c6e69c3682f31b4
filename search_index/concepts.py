"""Glossary concepts in the index: a concept token wherever one of a concept's terms occurs.

A search for 美沙酮 also looks for methadone, MMT, 美沙酮维持治疗 and the concept's other terms.
Searching each of them as its own phrase, in every text field, turns one word into dozens of
posting lists. Instead, indexing marks every place where a term of a shipped glossary concept
occurs with one extra token, ``~`` + the concept id (``~mmt``), at the position where the term
starts; a query names the concept with that single term.

A term occurs where its analysed tokens (``Glossary.keys()``, the same tokens a query would use)
stand at consecutive positions, exactly as a phrase query would find them: sub-words count
(纳洛酮 inside 纳洛酮喷剂), English inflections count (needle exchanges), and words of one
segmented unit never straddle a word boundary. So ``~mmt`` in a field means the same as "any
term of mmt, as a phrase, in that field", only cheaper to ask for.

Only the shipped glossary (``data/glossary.tsv``) is marked, like segmentation: terms that
administrators add at run time are searched as phrases beside the concept token. Editing the
shipped file needs a reindex. ``~`` never starts a word token (the tokenizer splits on it).

Pickling: the schema stores the analyzer by import path, so ``ConceptFilter`` must keep its name.
"""
from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Iterator

from whoosh.analysis import Filter, Token

from search_index.glossary import default_glossary

PREFIX = "~"

# the first token (one-token terms) or the first two -> [(the tokens after those, concept tokens)]
_Table = dict[tuple[str, ...], list[tuple[tuple[str, ...], tuple[str, ...]]]]


def concept_token(concept_id: str) -> str:
    """Return the index term that marks the concept ``concept_id``."""
    return PREFIX + concept_id


def is_concept_token(text: str) -> bool:
    """Tell whether an index term is a concept token rather than a word."""
    return text.startswith(PREFIX)


class ConceptFilter(Filter):
    """Pass tokens through and, when indexing with positions, add the concept tokens after them."""

    def __call__(self, tokens: Iterator[Token]) -> Iterator[Token]:
        """Yield every token, then one token per (concept, position) where a concept term starts."""
        table = vocabulary = None
        seen: dict[int, dict[str, tuple[int, int]]] = defaultdict(dict)  # pos -> text -> (start, end)
        last = None
        for token in tokens:
            yield token
            if last is None:
                if getattr(token, "mode", "") == "query" or not token.positions:
                    yield from tokens  # queries and highlighting: nothing to add
                    return
                table, vocabulary = _table()
            last = token
            if token.text in vocabulary:
                seen[token.pos][token.text] = (token.startchar, token.endchar) if token.chars else (0, 0)
        if last is None or not seen:
            return
        for text, pos, start, end in _occurrences(seen, table):
            last.text, last.pos, last.boost, last.stopped = text, pos, 1.0, False
            if last.chars:
                last.startchar, last.endchar = start, end
            yield last


def _occurrences(seen: dict[int, dict[str, tuple[int, int]]], table: _Table) -> list[tuple[str, int, int, int]]:
    """Return (concept token, position, start char, end char) for every term occurrence, by position."""
    found: dict[tuple[str, int], tuple[int, int]] = {}
    for pos in sorted(seen):
        following = seen.get(pos + 1, {})
        for text, (start, first_end) in seen[pos].items():
            # Terms are looked up by their first two tokens: common first words (hiv, peer, 服务)
            # begin many terms, but few of them with the word that actually follows.
            candidates = [(entry, first_end) for entry in table.get((text,), ())]
            candidates += [(entry, span[1]) for second, span in following.items()
                           for entry in table.get((text, second), ())]
            for (rest, concepts), end in candidates:
                end = _phrase_end(seen, pos + 2, rest, end) if rest else end
                if end is None:
                    continue
                for concept in concepts:
                    # The longest term at a position marks the widest span (for highlighting).
                    if (concept, pos) not in found or end > found[(concept, pos)][1]:
                        found[(concept, pos)] = (start, end)
    return sorted(((concept, pos, *span) for (concept, pos), span in found.items()), key=lambda item: item[1])


def _phrase_end(seen: dict[int, dict[str, tuple[int, int]]], pos: int, rest: tuple[str, ...], end: int) -> int | None:
    """Return the end char of ``rest`` standing at ``pos`` and the positions after it, or None."""
    for offset, wanted in enumerate(rest):
        span = seen.get(pos + offset, {}).get(wanted)
        if span is None:
            return None
        end = max(end, span[1])
    return end


@functools.cache
def _table() -> tuple[_Table, frozenset[str]]:
    """Return the shipped glossary's terms by their first one or two tokens, and every token in a term."""
    table: _Table = defaultdict(list)
    vocabulary: set[str] = set()
    for key, concept_ids in default_glossary().keys().items():
        table[key[:2]].append((key[2:], tuple(concept_token(c) for c in concept_ids)))
        vocabulary.update(key)
    return dict(table), frozenset(vocabulary)
