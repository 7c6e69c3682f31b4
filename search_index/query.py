"""Turning what a person typed into a query plan (``search_index.engine``), forgivingly.

Plain words are ANDed (the caller falls back to OR when AND finds nothing), "quoted text"
is a phrase, -word excludes. Nothing a person types raises: unbalanced quotes, a lone dash
or operators in the wrong place are read as plain text. Each word is analysed exactly as
the index analyses text, so a Chinese word is looked up as that word (as a phrase of its
units only where no note holds the word), several words become a phrase of their units, and
Traditional characters meet Simplified ones. Words the glossary knows also match the
glossary's other terms (美沙酮 ↔ methadone ↔ MMT), unless expansion is switched off.
"""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field

from search_index.analysis import query_tokens, word_units
from search_index.concepts import concept_token
from search_index.engine import Leaf, Plan, Unit
from search_index.folding import HAN_RANGES
from search_index.glossary import Glossary, Span, default_glossary

_TOKEN = re.compile(r'(-?)"([^"]*)"|(\S+)')
_HAN = re.compile(f"[{HAN_RANGES}]+")
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
        if phrase.strip():  # "" and " " ask for nothing
            (parsed.excluded if negated else parsed.phrases).append(phrase)
        elif word.startswith("-") and len(word) > 1:
            parsed.excluded.append(word[1:])
        elif word.strip("-"):
            parsed.words.append(word)
    parsed.words = parsed.words[:MAX_WORDS]
    return parsed


@functools.lru_cache(maxsize=4096)
def _tokens(text: str) -> tuple[str, ...]:
    """Return query_tokens(text), remembered: glossary terms are analysed for every query naming them."""
    return tuple(query_tokens(text))


def _leaf(text: str) -> Leaf | None:
    """Return ``text`` as the index would hold it: one word (with its units, should no note hold
    the word itself), or a phrase of its words' units."""
    tokens = _tokens(text)
    if not tokens:
        return None
    parts = tuple(word_units(tokens[0])) if len(tokens) == 1 else ()
    return Leaf(tokens, parts if len(parts) > 1 else ())


def _unit(text: str) -> Unit | None:
    """Return a unit that matches ``text`` (a word or a phrase) in any text field."""
    leaf = _leaf(text)
    return Unit(((leaf,),)) if leaf else None


@dataclass
class Built:
    """A query ready to run, with what the person should be told about it."""

    plan: Plan
    expansions: list[str]
    highlight: list[str]  # analysed terms to mark in excerpts (glossary expansions included)


def build(parsed: Parsed, *, glossary: Glossary | None, mode: str = "and") -> Built:
    """Build the plan for ``parsed``; ``mode`` is "and" or "or" between the words.

    Words that spell a glossary term match the term's concept: the shipped concepts through their
    concept tokens in the index (one term, see ``search_index.concepts``), terms administrators
    added through phrases of their own.
    """
    units: list[Unit] = []
    expansions: list[str] = []
    covered: set[int] = set()
    for span in glossary.spans(parsed.words) if glossary else []:
        units.append(_concept_unit(span, parsed.words[span.start:span.end], glossary))
        expansions += [term for term in span.others if not _inside(_tokens(term), span.key)]
        covered.update(range(span.start, span.end))
    units += [x for i, w in enumerate(parsed.words) if i not in covered and (x := _unit(w))]
    units += [x for x in map(_unit, parsed.phrases) if x]
    excluded = tuple(x for x in map(_unit, parsed.excluded) if x)
    # Nothing asked for lists everything; words that analyse to nothing (only stop words) find nothing.
    plan = Plan(units=tuple(units), mode=mode, excluded=excluded, everything=parsed.empty)
    highlight = [t for text in [*parsed.words, *parsed.phrases, *expansions] for t in _tokens(text)]
    # A word given twice spells its glossary term twice: list each expansion once, as first seen.
    return Built(plan=plan, expansions=list(dict.fromkeys(expansions)), highlight=list(dict.fromkeys(highlight)))


def _concept_unit(span: Span, words: list[str], glossary: Glossary) -> Unit:
    """Return the unit for words that spell a glossary term: the words, or any term of its concepts.

    Expansion never widens a Chinese word to the word it holds with one character less: 大学生
    does not also search 学生 (which would find 广大|学生). A concept with such a term is searched
    term by term, without its concept token, which stands for all its terms.
    """
    shipped = default_glossary()
    shipped_ids = set(shipped.keys().get(span.key, ()))
    alternatives: list[tuple[Leaf, ...]] = []
    narrowed = {concept_id for concept_id in span.concept_ids
                if any(_inside(_tokens(term), span.key) for term in glossary.terms_of(concept_id))}
    if not shipped_ids & (set(span.concept_ids) - narrowed):  # no concept token covers the words themselves
        alternatives.append(tuple(x for x in map(_leaf, words) if x))
    for concept_id in span.concept_ids:
        indexed = () if concept_id in narrowed else shipped.terms_of(concept_id)
        if indexed:
            alternatives.append((Leaf((concept_token(concept_id),)),))
        alternatives += [(leaf,) for term in glossary.terms_of(concept_id)
                         if term not in indexed and not _inside(key := _tokens(term), span.key)
                         and key != span.key and (leaf := _leaf(term))]
    return Unit(tuple(a for a in alternatives if a))


def _inside(key: tuple[str, ...], outer: tuple[str, ...]) -> bool:
    """Tell whether a term is a Han word that a word of ``outer`` holds with one character more.

    That one character is what makes the longer word's characters straddle two words where the
    shorter stands: 大学生 in 广大|学生 (学生), 艾滋病 in 艾滋|病毒 (艾滋). A longer rest rarely does
    (美沙酮 in 美沙酮维持治疗 stays an expansion), and an English word inside a longer term
    ("students") is that word wherever it is.
    """
    return (len(key) == 1 and _HAN.fullmatch(key[0]) is not None
            and any(key[0] in token and len(token) == len(key[0]) + 1 for token in outer))
