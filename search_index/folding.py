"""Folding text to the one form the index holds: NFKC, Traditional to Simplified Chinese, with offsets.

The first stop of search's one-way pipeline, and a leaf: it imports no other module of the hub.
Analysis (``search_index.analysis``), the glossary and excerpts all fold text here, so 針具交換 and
针具交换, ＭＭＴ and MMT meet in one form, and a folded character can be traced back to the span of
the original text it came from (:func:`span`), for highlighting.
"""
from __future__ import annotations

import functools
import unicodedata
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
    if text.isascii():
        return text
    return _converter().convert(text)


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
