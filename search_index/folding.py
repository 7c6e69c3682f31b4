"""Folding text to the one form the index holds: NFKC, Traditional to Simplified Chinese, with offsets.

The first stop of search's one-way pipeline, and a leaf: it imports no other module of the hub.
Analysis (``search_index.analysis``), the glossary and excerpts all fold text here, so 針具交換 and
针具交换, ＭＭＴ and MMT meet in one form, and a folded character can be traced back to the span of
the original text it came from (:func:`span`), for highlighting.
"""
from __future__ import annotations

import functools
import unicodedata
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import opencc

__all__ = ["HAN_RANGES", "normalise", "span", "to_simplified"]

# CJK unified ideographs: extension A, the basic block, compatibility ideographs, extensions B-G.
HAN_RANGES = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f"


def normalise(text: str) -> tuple[str, list[tuple[int, int]] | None]:
    """Return NFKC- and Simplified-folded text, with each character's source span if they moved."""
    folded = _nfkc(text)
    bounds = None
    # Width folding (ＭＭＴ, full-width punctuation) keeps one character per character; only
    # expansions (…, ㎎) and compositions change the length, so map offsets just for those texts.
    if len(folded) != len(text):
        folded, bounds = _nfkc_with_bounds(text)
    simplified = to_simplified(folded)
    if len(simplified) != len(folded):
        # OpenCC phrase mappings may change the length; character by character keeps offsets true.
        simplified = "".join(to_simplified(char) for char in folded)
        if len(simplified) != len(folded):
            simplified = folded
    return simplified, bounds


class _OneForOne(dict):
    """Code point -> its NFKC form where that is one character (else itself), filled as characters are met."""

    def __missing__(self, code: int) -> str:
        char = chr(code)
        folded = unicodedata.normalize("NFKC", char)
        self[code] = folded if len(folded) == 1 else char
        return self[code]


_ONE_FOR_ONE = _OneForOne()


@functools.cache
def _bmp_one_for_one() -> np.ndarray:
    """Return the Basic Multilingual Plane as ``_ONE_FOR_ONE`` maps it, one code point per entry (about 10 ms, once).

    A character without a decomposition is its own NFKC form, so only those with one are normalised.
    """
    table = np.arange(0x10000, dtype=np.uint32)
    for code in range(0x10000):
        char = chr(code)
        if unicodedata.decomposition(char):
            folded = unicodedata.normalize("NFKC", char)
            if len(folded) == 1:
                table[code] = ord(folded)
    return table


def _swapped(text: str) -> str:
    """Return ``text.translate(_ONE_FOR_ONE)``: through a table over the text's code points, when all are
    in the BMP (eight times faster on Chinese text: ``str.translate`` looks each character up in a dict)."""
    codes = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    if not len(codes) or int(codes.max()) >= 0x10000:
        return text.translate(_ONE_FOR_ONE)
    return _bmp_one_for_one()[codes].tobytes().decode("utf-32-le", "surrogatepass")


def _nfkc(text: str) -> str:
    """Return the NFKC form of text, as ``unicodedata.normalize`` does, in a fraction of its time.

    Chinese text is seldom in NFKC (full-width commas and colons fold), and normalising it
    decomposes and recomposes every character. Swapping each character for its NFKC form where
    that is one character leaves the text's NFKD form as it was; so when the result is in NFKC,
    it is the text's NFKC form. Otherwise (expansions such as …, combining marks) normalise it.
    """
    if unicodedata.is_normalized("NFKC", text):
        return text
    swapped = _swapped(text)
    return swapped if unicodedata.is_normalized("NFKC", swapped) else unicodedata.normalize("NFKC", text)


def _nfkc_with_bounds(text: str) -> tuple[str, list[tuple[int, int]]]:
    """Return the NFKC form of text and, for each output character, its source span."""
    clusters: list[tuple[int, int]] = []  # a base character with its combining marks
    for index, char in enumerate(text):
        if clusters and unicodedata.combining(char):
            clusters[-1] = (clusters[-1][0], index + 1)
        else:
            clusters.append((index, index + 1))
    parts: list[str] = []
    bounds: list[tuple[int, int]] = []
    for start, end in clusters:
        part = unicodedata.normalize("NFKC", text[start:end])
        parts.append(part)
        bounds.extend([(start, end)] * len(part))
    return "".join(parts), bounds


def to_simplified(text: str) -> str:
    """Return text with Traditional Chinese characters folded to Simplified."""
    if text.isascii() or _t2s_leaves(text):
        return text
    return _converter().convert(text)


# The keys of OpenCC's t2s dictionaries that it converts to something else, for the OpenCC release named on
# the file's first line (tests/unit/test_folding.py writes it from that release's dictionaries and checks it).
T2S_CHANGES = Path(__file__).with_name("data") / "t2s_changes.txt"
_CHANGES_ALONE, _CHANGES_IN_A_PHRASE = 1, 2


@functools.cache
def _t2s_changes() -> tuple[np.ndarray, dict[int, tuple[str, ...]]] | None:
    """Return, for every code point, whether t2s converts it on its own (1), or it stands in a phrase that t2s
    converts although it leaves each of the phrase's characters alone (2: the first character the phrase's
    conversion changes, such as 覆 in 回覆), else 0; and those phrases by that code point.
    None when the installed OpenCC is not the release the list was made from.
    """
    import opencc

    header, *keys = T2S_CHANGES.read_text(encoding="utf-8").splitlines()
    if header != f"# OpenCC {opencc.__version__} t2s":
        return None
    marks = np.zeros(0x110000, dtype=np.uint8)
    alone = {key for key in keys if len(key) == 1}
    marks[[ord(key) for key in alone]] = _CHANGES_ALONE
    phrases: dict[int, tuple[str, ...]] = {}
    for key in keys:
        if len(key) > 1 and alone.isdisjoint(key):  # a phrase holding a character converted alone is seen by it
            value = _converter().convert(key)
            # Any of its characters tells where to look; the one it changes is the least common in Simplified text.
            witness = next((old for old, new in zip(key, value) if old != new), key[0]) if len(value) == len(key) \
                else key[0]
            phrases[ord(witness)] = (*phrases.get(ord(witness), ()), key)
            marks[ord(witness)] = max(marks[ord(witness)], _CHANGES_IN_A_PHRASE)
    marks.flags.writeable = False
    return marks, phrases


def _t2s_leaves(text: str) -> bool:
    """Tell whether OpenCC's t2s would give ``text`` back as it is, in less than half the time it takes to run it.

    t2s replaces the keys of its dictionaries found in the text by their values. When the text holds no key
    whose value differs (no character converted alone, no such phrase), every key it finds is given back as
    it is. Most Simplified Chinese text holds none, yet OpenCC takes as long as all the rest of folding.
    """
    changes = _t2s_changes()
    if changes is None:
        return False
    marks, phrases = changes
    codes = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)  # a lone surrogate raises, as OpenCC does
    found = marks[codes]
    most = int(found.max()) if len(found) else 0
    if most != _CHANGES_IN_A_PHRASE or (found == _CHANGES_ALONE).any():
        return most == 0
    starts = np.unique(codes[found == _CHANGES_IN_A_PHRASE]).tolist()
    return not any(phrase in text for start in starts for phrase in phrases[start])


def span(bounds: list[tuple[int, int]] | None, start: int, end: int) -> tuple[int, int]:
    """Return the span in the original text of the folded text's characters start to end."""
    if bounds is None:
        return start, end
    return bounds[start][0], bounds[end - 1][1]


@functools.cache
def _converter() -> opencc.OpenCC:
    """Return this process's Traditional-to-Simplified converter."""
    import opencc

    return opencc.OpenCC("t2s")
