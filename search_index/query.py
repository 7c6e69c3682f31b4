"""Turning what a person typed into a Whoosh query, forgivingly.

Plain words are ANDed (the caller falls back to OR when AND finds nothing), "quoted text"
is a phrase, -word excludes. Nothing a person types raises: unbalanced quotes, a lone dash
or operators in the wrong place are read as plain text. Each word is analysed exactly as
the index analyses text, so Chinese compounds become phrases of their units and
Traditional characters meet Simplified ones. Words the glossary knows also match the
glossary's other terms (美沙酮 ↔ methadone ↔ MMT), unless expansion is switched off.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from whoosh import query as q

from search_index.analysis import query_tokens
from search_index.glossary import Glossary
from search_index.schema import TEXT_FIELDS

_TOKEN = re.compile(r'(-?)"([^"]*)"|(\S+)')
MAX_WORDS = 20  # longer queries are cut: a pasted paragraph must not build a huge query


@dataclass
class Parsed:
    """A query split into its parts."""

    words: list[str] = field(default_factory=list)
    phrases: list[str] = field(default_factory=list)
    excluded: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        """Tell whether nothing positive was asked for."""
        return not (self.words or self.phrases)


def parse(text: str) -> Parsed:
    """Split ``text`` into words, "phrases" and -exclusions; never fails."""
    parsed = Parsed()
    text = (text or "").replace("“", '"').replace("”", '"').replace("＂", '"')
    if text.count('"') % 2:
        text = text.replace('"', " ")  # an unbalanced quote: read it all as plain words
    for negated, phrase, word in _TOKEN.findall(text[:500]):
        if phrase:
            (parsed.excluded if negated else parsed.phrases).append(phrase)
        elif word.startswith("-") and len(word) > 1:
            parsed.excluded.append(word[1:])
        elif word.strip("-"):
            parsed.words.append(word)
    parsed.words = parsed.words[:MAX_WORDS]
    return parsed


def _text_query(text: str) -> q.Query | None:
    """Match ``text`` in any text field: one term, or a phrase of its units."""
    tokens = query_tokens(text)
    if not tokens:
        return None
    if len(tokens) == 1:
        return q.Or([q.Term(name, tokens[0], boost=boost) for name, boost in TEXT_FIELDS.items()])
    return q.Or([q.Phrase(name, tokens, boost=boost) for name, boost in TEXT_FIELDS.items()])


@dataclass
class Built:
    """A query ready to run, with what the person should be told about it."""

    query: q.Query
    expansions: list[str]
    terms: list[str]  # analysed terms, for "did you mean"


def build(parsed: Parsed, *, glossary: Glossary | None, mode: str = "and") -> Built:
    """Build the Whoosh query for ``parsed``; ``mode`` is "and" or "or" between the words."""
    units: list[q.Query] = []
    expansions: list[str] = []
    covered: set[int] = set()
    for start, end, others in (glossary.matches(parsed.words) if glossary else []):
        own = [_text_query(w) for w in parsed.words[start:end]]
        alternatives = [q.And([x for x in own if x])] + [x for x in map(_text_query, others) if x]
        units.append(q.Or(alternatives))
        expansions += others
        covered.update(range(start, end))
    units += [x for i, w in enumerate(parsed.words) if i not in covered and (x := _text_query(w))]
    units += [x for x in map(_text_query, parsed.phrases) if x]
    if units:
        positive: q.Query = q.And(units) if mode == "and" else q.Or(units)
    else:  # nothing asked for lists everything; words that analyse to nothing (only stop words) find nothing
        positive = q.Every() if parsed.empty else q.NullQuery
    negative = [x for x in map(_text_query, parsed.excluded) if x]
    if negative:
        positive = q.AndNot(positive, q.Or(negative))
    terms = [t for w in parsed.words for t in query_tokens(w)]
    return Built(query=positive, expansions=expansions, terms=terms)
