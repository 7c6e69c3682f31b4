"""Highlighted excerpts of search results, found without re-analysing the notes.

Running the index analyzer (jieba, sub-words) over ten result bodies to find the
query's terms costs tens of milliseconds per page. The terms are already analysed, so it is
enough to look for them in the note's text folded the way the analyzer folds it (NFKC,
Traditional to Simplified, lower case): a Chinese term where its characters stand, an English
stem at the start of a word and the rest of that word with it (``discrimin`` marks
"discrimination"). Offsets map back to the original text, so the excerpt shows what the author
wrote, in whichever script, with the matches in ``<mark>``.

The text is the note's ``body_text``: its sanitised ``body_html`` with the tags taken out, kept
with the note whenever ``body_html`` is set (``hub.services.notes``), so a request neither
converts Markdown again nor takes HTML apart. Everything but ``<mark>`` is escaped.
"""
from __future__ import annotations

import functools
import re

import nh3

from hub import text as hub_text
from search_index.analysis import stem_latin
from search_index.folding import normalise, span  # the index's folding, with offsets

FRAGMENT_CHARS = 160  # at most this many characters per fragment
CONTEXT_CHARS = 40  # characters shown before a fragment's first match
FRAGMENTS = 2
_ASCII_WORD = re.compile(r"[a-z0-9]+")
_WORD_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789")
_MARKS_ONLY = nh3.Cleaner(tags={"mark"}, attributes={})  # built once: nh3.clean() builds one per call
# Characters of an excerpt (its <mark> tags taken out) that the sanitiser would not give back as they are.
_SANITISER_CHANGES = ("<", ">", "\r", "\x00")


html_text = hub_text.html_line  # the text of sanitised HTML on one line: what ``body_text`` holds


def body_text_of(body_text: str | None, body_html: str) -> str:
    """Return a note's text for excerpts: the ``body_text`` kept with it, else (a row written without the
    ORM) the text of its ``body_html``."""
    return body_text if body_text is not None else _text_of_html(body_html)


@functools.lru_cache(maxsize=1024)
def _text_of_html(body_html: str) -> str:
    return html_text(body_html)


def note_excerpt(body_text: str, summary: str, terms: list[str]) -> tuple[str, bool]:
    """Return a note's excerpt: the query's words marked in its body text; in the summary only when the body has none.

    The second value tells whether the excerpt is the summary's: the result page then shows it in
    the summary's place rather than the same sentence twice. The folded form of a text is kept for
    the last notes shown (keyed by the text itself, so an edited note is never shown from an old
    copy): a note found again, by another query or another page, costs only the marking.
    """
    body = excerpt_html(body_text, terms)
    return (body, False) if body else (excerpt_html(summary, terms), True)


def holds_any(text: str, terms: list[str]) -> bool:
    """Tell whether ``text`` holds one of the analysed query ``terms``, where an excerpt would mark it."""
    lowered, _ = _folded(text)
    return bool(_matches(lowered, terms))


def spelled_word(stem: str, text: str, *, typed: str) -> str | None:
    """Return the word of ``text`` that the English stem ``stem`` stands for, nearest in length to
    ``typed`` and then the most frequent (referal: referral before referrals), or None.

    Porter2's stems are the start of their words, but for a final y made i ("studi": study, studies).
    """
    lowered, _ = _folded(text)
    start = stem[:-1] if stem.endswith("i") else stem
    counts: dict[str, int] = {}
    for match in re.finditer(rf"(?<![a-z0-9]){re.escape(start)}[a-z]*(?![a-z0-9])", lowered):
        if stem_latin(word := match.group()) == stem:
            counts[word] = counts.get(word, 0) + 1
    return min(counts, key=lambda word: (abs(len(word) - len(typed)), -counts[word], word)) if counts else None


def excerpt_html(text: str, terms: list[str]) -> str:
    """Return up to two fragments of ``text`` with the analysed ``terms`` marked, or "" when none occurs."""
    if not text or not any(terms):
        return ""
    lowered, bounds = _folded(text)
    spans = [span(bounds, start, end) for start, end in _matches(lowered, terms)]
    if not spans:
        return ""
    windows = _fragments(spans, len(text))
    joined = ""
    end = 0
    for window in windows:  # an ellipsis wherever text is left out
        joined += ("…" if not joined else " … ") if window[0] > end else ""
        joined += _fragment(text, window)
        end = window[1]
    joined += "…" if end < len(text) else ""
    # Belt and braces: every piece of text was escaped as the sanitiser writes text, so the excerpt is
    # what it would give back, unless it holds a tag other than <mark> (a bug: the sanitiser takes it
    # out) or a character its parser changes (carriage return, NUL, a byte order mark at the start). Only
    # then does it run: it takes as long as the rest of the excerpt.
    text_only = joined.replace("<mark>", "").replace("</mark>", "")
    if any(char in text_only for char in _SANITISER_CHANGES) or joined.startswith("\ufeff"):
        return _MARKS_ONLY.clean(joined)
    return joined


def _fragments(spans: list[tuple[int, int]], size: int) -> list[tuple[int, int, list[tuple[int, int]]]]:
    """Group match spans into at most FRAGMENTS windows of text: (start, end, spans inside).

    Windows never overlap, and a window ends before a match it does not hold, so no text is
    shown twice and no match is cut in half.
    """
    windows: list[tuple[int, int, list[tuple[int, int]]]] = []
    index = 0
    previous_end = 0
    while index < len(spans) and len(windows) < FRAGMENTS:
        if spans[index][0] < previous_end:  # overlaps the last window's last match: shown already
            index += 1
            continue
        start = max(previous_end, spans[index][0] - CONTEXT_CHARS)
        inside = []
        while index < len(spans) and spans[index][1] - start <= FRAGMENT_CHARS:
            if not inside or spans[index][0] >= inside[-1][1]:  # overlapping matches: keep the first
                inside.append(spans[index])
            index += 1
        if not inside:  # a single match longer than a fragment
            inside = [spans[index]]
            index += 1
        end = min(size, max(inside[-1][1], start + FRAGMENT_CHARS))
        if index < len(spans):
            end = max(inside[-1][1], min(end, spans[index][0]))
        windows.append((start, end, inside))
        previous_end = end
    return windows


def _fragment(text: str, window: tuple[int, int, list[tuple[int, int]]]) -> str:
    """Return one window of text as HTML, its matches in <mark>."""
    start, end, spans = window
    out = []
    at = start
    for span_start, span_end in _touching_joined(spans):
        out.append(_escaped(text[at:span_start]))
        out.append(f"<mark>{_escaped(text[span_start:span_end])}</mark>")
        at = span_end
    out.append(_escaped(text[at:end]))
    return "".join(out)


def _escaped(text: str) -> str:
    """Return text escaped for HTML as the sanitiser (nh3, html5ever's serialiser) writes text: ``&``, ``<``,
    ``>`` and the no-break space as entities, quotes as they are."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\xa0", "&nbsp;")


def _touching_joined(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Join matches that touch ("美沙酮" and "门诊"): one highlight, not two with a gap inside a word."""
    joined: list[tuple[int, int]] = []
    for span_start, span_end in spans:
        if joined and span_start <= joined[-1][1]:
            joined[-1] = (joined[-1][0], max(span_end, joined[-1][1]))
        else:
            joined.append((span_start, span_end))
    return joined


@functools.lru_cache(maxsize=1024)
def _folded(text: str) -> tuple[str, list[tuple[int, int]] | None]:
    """Return ``text`` folded as the analyzer folds it, in lower case, with the offsets back (see ``normalise``)."""
    if text.isascii():  # NFKC and Traditional-to-Simplified leave ASCII as it is
        return text.lower(), None
    folded, bounds = normalise(text)
    lowered = folded.lower()
    if len(lowered) != len(folded):  # a few letters lower-case into two characters: keep those as they are
        lowered = "".join(char.lower() if len(char.lower()) == 1 else char for char in folded)
    return lowered, bounds


def _matches(lowered: str, terms: list[str]) -> list[tuple[int, int]]:
    """Return where ``terms`` occur in folded, lower-case text: leftmost first, the longest where several
    start together, never overlapping — what one alternation of the terms, longest first, finds.

    Each term is looked for on its own, and only when the text holds it: a glossary word brings
    dozens of terms, and an alternation of them all would be tried at every character (and
    compiled anew for every set of terms).
    """
    found = []
    for term in terms:
        if term and term in lowered:
            pattern, from_word_start = _term_pattern(term)
            found += [match.span() for match in pattern.finditer(lowered) if match.end() > match.start()
                      and not (from_word_start and match.start() and lowered[match.start() - 1] in _WORD_CHARS)]
    found.sort(key=lambda found_span: (found_span[0], -found_span[1]))
    spans: list[tuple[int, int]] = []
    for start, end in found:
        if not spans or start >= spans[-1][1]:
            spans.append((start, end))
    return spans


@functools.lru_cache(maxsize=4096)
def _term_pattern(term: str) -> tuple[re.Pattern[str], bool]:
    """Return a regular expression that finds a term in folded, lower-case text, and whether a match
    counts only at a word's start (not after a letter or digit).

    An English stem or a number is marked from a word's start with the rest of the word. The start
    is checked on each match rather than with a look-behind, which would keep ``re`` from looking
    for the term's letters first (seven times slower). A match skipped inside a word takes the rest
    of that word with it, where no word starts: so the matches kept are the look-behind's.
    """
    if _ASCII_WORD.fullmatch(term):
        return re.compile(rf"{re.escape(term)}[a-z0-9]*"), True
    return re.compile(re.escape(term)), False
