"""Find personal data (phones, ID numbers, e-mails, listed names) before a note is published.

Practice notes describe people who use drugs and people living with HIV; a
phone number or resident ID number left in a note can expose someone to
police, employers or family.  This module only *finds* such data so the author
can remove it; it never stores, logs or returns the matched value itself.

Matching runs on a folded copy of each field (NFKC, case-folded, invisible
format characters removed) so that full-width digits, ``＠`` and similar
variants are caught, while every reported offset refers to the ORIGINAL
field text.  Folding is done per character cluster (a base character plus its
combining marks) and an index map records which original characters produced
each folded character, because NFKC can change the length of a string (``㍿``
becomes four characters, ``ß`` case-folds to ``ss``).

Pure functions only: no Flask, no database, no I/O.
"""
from __future__ import annotations

import re
import unicodedata
from bisect import bisect_left
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import Literal

__all__ = ["KINDS", "Finding", "Kind", "highlight", "scan"]

Kind = Literal["phone", "id_number", "email", "sensitive_word"]
KINDS: frozenset[str] = frozenset({"phone", "id_number", "email", "sensitive_word"})


@dataclass(frozen=True, repr=False)
class Finding:
    """A span of personal data inside one field; holds offsets, never the value."""

    kind: Kind
    field: str
    start: int
    end: int

    def __post_init__(self) -> None:
        """Reject impossible findings early."""
        if self.kind not in KINDS:
            raise ValueError(f"unknown finding kind {self.kind!r}")
        if not 0 <= self.start < self.end:
            raise ValueError("a finding needs 0 <= start < end")

    def __repr__(self) -> str:
        """Describe the finding without any part of the value or the file name."""
        return (
            f"Finding(kind={self.kind!r}, field={_field_label(self.field)!r}, "
            f"start={self.start}, end={self.end})"
        )

    __str__ = __repr__

    def masked(self, text: str) -> str:
        """Return the finding's value from its field text with the middle hidden."""
        if self.end > len(text):
            raise ValueError("text is shorter than the finding; pass the field's own text")
        return _MASKERS[self.kind](text[self.start : self.end])


def _field_label(field: str) -> str:
    """Keep only the field's prefix, since "attachment:<name>" may hold a file name."""
    prefix, sep, _ = field.partition(":")
    return f"{prefix}:…" if sep else prefix


# --------------------------------------------------------------------------- folding


@dataclass(frozen=True)
class _Folded:
    """A folded copy of a text plus, per folded char, its original [start, end)."""

    text: str
    starts: Sequence[int]
    ends: Sequence[int]

    def original_span(self, start: int, end: int) -> tuple[int, int]:
        """Map a folded [start, end) span back to original offsets."""
        return self.starts[start], self.ends[end - 1]


@lru_cache(maxsize=8192)
def _fold_cluster(cluster: str) -> str:
    """Fold one character cluster: NFKC, case-fold, drop invisible format chars."""
    folded = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", cluster).casefold())
    # Zero-width spaces, soft hyphens etc. are invisible; pasted numbers often carry them.
    return "".join(ch for ch in folded if unicodedata.category(ch) != "Cf")


def _clusters(text: str) -> Iterator[tuple[int, int]]:
    """Yield [start, end) of each base character together with its combining marks."""
    start = 0
    for index in range(1, len(text) + 1):
        if index == len(text) or not unicodedata.combining(text[index]):
            yield start, index
            start = index


def _fold(text: str) -> _Folded:
    """Fold a text for matching while keeping a map back to original offsets."""
    if text.isascii():  # common case: lower() is 1:1, so the map is the identity
        return _Folded(text.lower(), range(len(text)), range(1, len(text) + 1))
    parts: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    for start, end in _clusters(text):
        folded = _fold_cluster(text[start:end])
        parts.append(folded)
        starts.extend([start] * len(folded))
        ends.extend([end] * len(folded))
    return _Folded("".join(parts), starts, ends)


# --------------------------------------------------------------------------- patterns

# Separators people put between digit groups (after folding: full-width
# space/dash/dot are already ASCII); invisible ones were dropped by folding.
_HSPACE = r"[ \t]"
_DASH = r"[-.\u2010-\u2015\u2212]"
_SEP = rf"(?:{_HSPACE}{{0,2}}{_DASH}?{_HSPACE}{{0,2}})"
_COUNTRY = rf"(?:\({_HSPACE}?(?:\+|00)?86{_HSPACE}?\)|(?:\+|00){_HSPACE}?86|86)"
# Mainland mobile: 1[3-9]x xxxx xxxx.  Digit look-arounds stop matches inside
# longer digit runs such as ID or bank-card numbers.
_PHONE = re.compile(
    rf"(?<![0-9])(?:{_COUNTRY}{_SEP})?1[3-9][0-9]{_SEP}[0-9]{{4}}{_SEP}[0-9]{{4}}(?![0-9])"
)

# Resident ID: 6-digit region, YYYYMMDD, 3-digit sequence, check char (x after
# case-folding); one optional separator between the 6-8-4 groups.
_ID_SEP = r"[ \t-]?"
_ID_NUMBER = re.compile(
    rf"(?<![0-9])([1-9][0-9]{{5}}){_ID_SEP}([0-9]{{8}}){_ID_SEP}([0-9]{{3}}[0-9x])(?![0-9])"
)
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK_CHARS = "10x98765432"

# Pragmatic, not RFC 5322: ASCII local part (so adjacent Chinese text is not
# swallowed), dotted ASCII domain, alphabetic or punycode TLD.
_EMAIL = re.compile(
    # The look-behind makes matches start only at the beginning of a run, which
    # keeps long runs of letters linear instead of quadratic.
    r"(?<![a-z0-9._%+-])[a-z0-9._%+-]+@(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+"
    r"(?:[a-z]{2,63}|xn--[a-z0-9-]{1,59})(?![a-z0-9-])"
)

_CJK_RANGES = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003ffff"
# "A word character that is not CJK": Latin names need word boundaries (so
# "Li" does not match inside "police") but Chinese text abuts Latin directly.
_NOT_AFTER_WORD = rf"(?<![^\W{_CJK_RANGES}])"
_NOT_BEFORE_WORD = rf"(?![^\W{_CJK_RANGES}])"
_SPACED_WORD_CHAR = re.compile(rf"[^\W{_CJK_RANGES}]")


# --------------------------------------------------------------------------- detectors


def _valid_birth_date(yyyymmdd: str) -> bool:
    """Return True if the digits form a real date between 1900 and today."""
    try:
        born = date(int(yyyymmdd[:4]), int(yyyymmdd[4:6]), int(yyyymmdd[6:]))
    except ValueError:
        return False
    return date(1900, 1, 1) <= born <= date.today()


def _id_check_char(first17: str) -> str:
    """Compute the ISO 7064 MOD 11-2 check character (lower-case x for 10)."""
    total = sum(int(digit) * weight for digit, weight in zip(first17, _ID_WEIGHTS))
    return _ID_CHECK_CHARS[total % 11]


def _find_id_numbers(folded: str) -> Iterator[tuple[int, int]]:
    """Yield folded spans of resident ID numbers with a valid date and check char."""
    position = 0
    while match := _ID_NUMBER.search(folded, position):
        region, birth, tail = match.groups()
        valid = _valid_birth_date(birth) and _id_check_char(region + birth + tail[:3]) == tail[3]
        if valid:
            yield match.span()
        # Retry just after a rejected candidate: separators make overlaps possible.
        position = match.end() if valid else match.start() + 1


def _find_pattern(pattern: re.Pattern[str], folded: str) -> Iterator[tuple[int, int]]:
    """Yield folded spans of every non-overlapping match."""
    return (match.span() for match in pattern.finditer(folded))


def _word_regex(word: str) -> str:
    """Build the regex for one folded sensitive word."""
    body = r"\s+".join(re.escape(part) for part in word.split())
    before = _NOT_AFTER_WORD if _SPACED_WORD_CHAR.match(word[0]) else ""
    after = _NOT_BEFORE_WORD if _SPACED_WORD_CHAR.match(word[-1]) else ""
    return before + body + after


def _sensitive_pattern(words: Iterable[str]) -> re.Pattern[str] | None:
    """Compile admin-listed words into one pattern, longest first."""
    folded = {_fold(word).text.strip() for word in words}
    ordered = sorted(folded - {""}, key=len, reverse=True)
    return re.compile("|".join(map(_word_regex, ordered))) if ordered else None


def _merge(spans: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    """Merge overlapping or touching [start, end) spans into sorted disjoint ones."""
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if start >= end:
            continue
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _covered(finding: Finding, disjoint: list[tuple[int, int]], starts: list[int]) -> bool:
    """Return True if a finding overlaps any of the sorted disjoint spans."""
    index = bisect_left(starts, finding.end) - 1  # last span starting before our end
    return index >= 0 and disjoint[index][1] > finding.start


def _scan_field(field: str, text: str, words: re.Pattern[str] | None) -> list[Finding]:
    """Find personal data in one field's text."""
    folded = _fold(text)
    detectors: list[tuple[Kind, Iterable[tuple[int, int]]]] = [
        ("id_number", _find_id_numbers(folded.text)),
        ("email", _find_pattern(_EMAIL, folded.text)),
        ("phone", _find_pattern(_PHONE, folded.text)),
    ]
    if words is not None:
        detectors.append(("sensitive_word", _find_pattern(words, folded.text)))
    found = [
        Finding(kind, field, *folded.original_span(start, end))
        for kind, spans in detectors
        for start, end in spans
    ]
    # A phone-like run inside an ID number or e-mail is the same datum; report it once.
    containers = _merge((f.start, f.end) for f in found if f.kind in {"id_number", "email"})
    starts = [start for start, _ in containers]
    found = [f for f in found if f.kind != "phone" or not _covered(f, containers, starts)]
    return sorted(found, key=lambda f: (f.start, f.end, f.kind))


def scan(fields: Mapping[str, str], *, sensitive_words: Iterable[str] = ()) -> list[Finding]:
    """Return personal-data findings for every field, in field order then position."""
    words = _sensitive_pattern(sensitive_words)
    findings: list[Finding] = []
    for field, text in fields.items():
        if text:
            findings.extend(_scan_field(field, text, words))
    return findings


# --------------------------------------------------------------------------- display


def highlight(
    text: str, findings: list[Finding], *, field: str | None = None
) -> list[tuple[str, bool]]:
    """Split text into (segment, is_finding) pairs for a template to mark up.

    Pass ``field`` to use only that field's findings from a whole ``scan()``
    result.  Segments always join back to ``text``.
    """
    relevant = [f for f in findings if field is None or f.field == field]
    segments: list[tuple[str, bool]] = []
    position = 0
    for start, end in _merge((f.start, min(f.end, len(text))) for f in relevant):
        if start > position:
            segments.append((text[position:start], False))
        segments.append((text[start:end], True))
        position = end
    if position < len(text):
        segments.append((text[position:], False))
    return segments


def _digits(value: str) -> str:
    """Return the ASCII digits (and ID check x) of a folded value."""
    return re.sub(r"[^0-9x]", "", _fold(value).text)


def _mask_phone(value: str) -> str:
    """Show a mobile number as 138****5678 (country code dropped)."""
    digits = _digits(value)[-11:]
    return f"{digits[:3]}****{digits[-4:]}"


def _mask_id_number(value: str) -> str:
    """Show an ID number with only the first and last three characters."""
    digits = _digits(value).upper()
    return digits[:3] + "*" * (len(digits) - 6) + digits[-3:]


def _mask_email(value: str) -> str:
    """Show an e-mail address as a***@domain."""
    local, _, domain = _fold(value).text.partition("@")
    return f"{local[:1]}***@{domain}"


def _mask_word(value: str) -> str:
    """Show a sensitive word by its first character only."""
    value = value.strip()
    visible = sum(1 for ch in value if not unicodedata.combining(ch))
    return value[:1] + "*" * (visible - 1)


_MASKERS = {
    "phone": _mask_phone,
    "id_number": _mask_id_number,
    "email": _mask_email,
    "sensitive_word": _mask_word,
}
