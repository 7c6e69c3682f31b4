"""Find personal data (contact details, ID and card numbers, listed names) before text is published.

Practice notes describe people who use drugs and people living with HIV; a phone number, WeChat
ID or resident ID number left in a note can expose someone to police, employers or family. This
module only *finds* such data so the author can remove it; it never stores, logs or returns the
matched value itself.

People write contact details in many ways to get past filters or simply by habit: 138 0013 8000,
+86-138-0013-8000, full-width digits, zero-width characters between digits, Chinese numerals
(幺三八洞洞…, 壹叁捌…), "wang(at)qq点com", "微信 peer_cd85", "扣扣 12345678". Scanning is
therefore three steps:

0. **Markup**: the text is Markdown, and readers see it rendered, so HTML character references
   (``&#49;&#51;&#56;`` shows 138), backslash escapes (``138\\-1234``) and emphasis marks between
   digits (``138**1234**5678``) are read as what they show, each mapped to its source span.
1. **Folding** (per character cluster, with an index map back to the original offsets): NFKC,
   case-folding, invisible format characters and marks stuck on ASCII characters removed, digits of
   any script made ASCII, invisible "blank" letters (Hangul fillers) made spaces.
2. **Numerals**: inside runs of at least five digit-like characters, Chinese numerals become ASCII
   digits, one character for one, so offsets stay valid (一 in 一个 is left alone).
3. **Recognisers** per kind: digit runs are split into groups at separators and at changes of
   writing style; each combination of whole groups is classified (resident ID with its check
   digit, mobile, bank card with Luhn, landline with area code); mobiles whose groups are
   separated by commas, semicolons or bars are read only when grouped as mobiles are (3-4-4…);
   keyword-led recognisers find QQ numbers, WeChat IDs and local landline numbers; patterns find
   e-mail addresses (obfuscated too: "(at)", 艾特, 小老鼠, "[dot]", 点, "wang @ qq . com"),
   passports, travel permits and licence plates; :mod:`hub.services.real_names` finds full names
   the text introduces as names (姓名：…, 我叫…, …先生, my name is …).

Every finding carries offsets into the ORIGINAL text, so the editor can highlight it. No Flask
app or request is needed: labels are lazy strings, translated when shown.
"""
from __future__ import annotations

import html
import re
import unicodedata
from bisect import bisect_left
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import Literal, get_args

from flask_babel import lazy_gettext as _l

from hub.services import real_names

__all__ = ["KINDS", "KIND_LABELS", "Finding", "Kind", "highlight", "label", "mask_for_index", "scan"]

Kind = Literal["phone", "landline", "id_number", "bank_card", "email", "wechat", "qq", "passport",
               "travel_permit", "licence_plate", "name", "sensitive_word"]
KINDS: frozenset[str] = frozenset(get_args(Kind))
# i18n: names of the kinds of personal data the privacy check finds, shown beside each finding.
KIND_LABELS = {
    "phone": _l("phone number"),
    "landline": _l("landline number"),
    "id_number": _l("ID number"),
    "bank_card": _l("bank card number"),
    "email": _l("e-mail address"),
    "wechat": _l("WeChat ID"),
    "qq": _l("QQ number"),
    "passport": _l("passport number"),
    "travel_permit": _l("travel permit number"),
    "licence_plate": _l("licence plate"),
    "name": _l("real name"),
    "sensitive_word": _l("listed name or word"),
}
# Contact data: what search must never index (names, listed or introduced as names, are handled by moderators).
CONTACT_KINDS: frozenset[str] = KINDS - {"name", "sensitive_word"}


def label(kind: str) -> str:
    """Return the kind's name in the current language."""
    return str(KIND_LABELS[kind])


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

    @property
    def label(self) -> str:
        """Return the finding's kind in the current language."""
        return label(self.kind)

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


# Default-ignorable characters that are not format (Cf) characters: variation selectors, the
# combining grapheme joiner, Mongolian and Khmer invisible marks.
_INVISIBLE = frozenset(
    "\u034f\u17b4\u17b5\u180b\u180c\u180d\u180f" + "".join(map(chr, range(0xFE00, 0xFE10)))
    + "".join(map(chr, range(0xE0100, 0xE01F0)))
)
# Letters and symbols that render as blank space: Hangul fillers, the blank Braille pattern.
_BLANKS = frozenset("\u115f\u1160\u3164\uffa0\u2800")


@lru_cache(maxsize=8192)
def _fold_cluster(cluster: str) -> str:
    """Fold one character cluster: NFKC, case-fold, drop invisibles, ASCII digits."""
    folded = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", cluster).casefold())
    kept: list[str] = []
    for ch in folded:
        category = unicodedata.category(ch)
        # Zero-width spaces, soft hyphens, direction marks, variation selectors are invisible,
        # and so is a stray combining mark stuck on a digit (1̸3̸8̸): pasted or planted numbers carry them.
        if category == "Cf" or ch in _INVISIBLE or (category in ("Mn", "Me") and kept and kept[-1].isascii()):
            continue
        if category == "Nd":
            ch = str(unicodedata.decimal(ch))
        kept.append(" " if ch in _BLANKS else ch)
    return "".join(kept)


def _clusters(text: str, start: int, end: int) -> Iterator[tuple[int, int]]:
    """Yield [start, end) of each base character in text[start:end] together with its combining marks."""
    for index in range(start + 1, end + 1):
        if index == end or not unicodedata.combining(text[index]):
            yield start, index
            start = index


# Characters that fold one for one: to themselves (ASCII lower-cased), CJK ideographs and the
# punctuation Chinese text is mostly made of, or to ASCII (full-width forms, the ideographic
# space). Runs of them skip the per-character folding.
_SIMPLE = re.compile(
    "[\x00-\x7f\u3400-\u4dbf\u4e00-\u9fff\u3000-\u3002\u300a-\u3011\u2018\u2019\u201c\u201d\uff01-\uff5e]+"
)
_WIDE_TO_ASCII = {0x3000: " ", **{code: chr(code - 0xFEE0) for code in range(0xFF01, 0xFF5F)}}


# What Markdown shows as something else: character references, backslash escapes, and emphasis or
# code marks between two digits (elsewhere they may be arithmetic or a name, and numbers are the point).
_MARKUP = re.compile(r"&#[0-9]{1,7};|&#[xX][0-9a-fA-F]{1,6};|&[A-Za-z][A-Za-z0-9]{1,31};|\\[!-/:-@\[-`{-~]"
                     r"|(?<=[0-9])[*_~`]+(?=[0-9])")


def _fold(text: str) -> _Folded:
    """Fold a text as readers see it rendered, for matching, with a map back to original offsets."""
    shown = _as_shown(text)
    if shown is None:
        return _fold_plain(text)
    shown_text, shown_starts, shown_ends = shown
    folded = _fold_plain(shown_text)
    return _Folded(folded.text, [shown_starts[i] for i in folded.starts], [shown_ends[i - 1] for i in folded.ends])


def _as_shown(text: str) -> tuple[str, list[int], list[int]] | None:
    """Return the text with its markup read (see ``_MARKUP``) and each character's source span, or None
    when it has none."""
    parts: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    position = 0
    for match in _MARKUP.finditer(text):
        start, end = match.span()
        piece = match.group()
        if piece[0] == "&":
            shown = html.unescape(piece)
            if shown == piece or not shown:
                continue  # not a reference HTML knows: shown as written
        else:
            shown = piece[1] if piece[0] == "\\" else ""
        parts.append(text[position:start])
        starts.extend(range(position, start))
        ends.extend(range(position + 1, start + 1))
        parts.append(shown)
        starts.extend([start] * len(shown))
        ends.extend([end] * len(shown))
        position = end
    if not position:
        return None
    parts.append(text[position:])
    starts.extend(range(position, len(text)))
    ends.extend(range(position + 1, len(text) + 1))
    return "".join(parts), starts, ends


def _fold_plain(text: str) -> _Folded:
    """Fold a text for matching while keeping a map back to original offsets."""
    if text.isascii():  # common case: lower() is 1:1, so the map is the identity
        return _Folded(text.lower(), range(len(text)), range(1, len(text) + 1))
    parts: list[str] = []
    starts: list[int] = []
    ends: list[int] = []

    def fold_slowly(start: int, end: int) -> None:
        for cluster_start, cluster_end in _clusters(text, start, end):
            folded = _fold_cluster(text[cluster_start:cluster_end])
            parts.append(folded)
            starts.extend([cluster_start] * len(folded))
            ends.extend([cluster_end] * len(folded))

    position = 0
    for match in _SIMPLE.finditer(text):
        start, end = match.span()
        if end < len(text) and unicodedata.combining(text[end]):
            end -= 1  # the last character folds together with the marks after it
        if start >= end:
            continue
        fold_slowly(position, start)
        parts.append(text[start:end].translate(_WIDE_TO_ASCII).lower())
        starts.extend(range(start, end))
        ends.extend(range(start + 1, end + 1))
        position = end
    fold_slowly(position, len(text))
    return _Folded("".join(parts), starts, ends)


# --------------------------------------------------------------------------- numerals

# Chinese numerals as people read digits aloud or write them to dodge filters: everyday and
# financial forms, 幺/么 for 1, 两 for 2, 洞 for 0, 拐 for 7, 勾 for 9 (the radio-operator style),
# circles for zero.
_NUMERAL_DIGITS = {
    "0": "零〇○◯洞", "1": "一壹幺么弌", "2": "二贰貳两兩弍", "3": "三叁參叄弎", "4": "四肆",
    "5": "五伍", "6": "六陆陸", "7": "七柒拐", "8": "八捌", "9": "九玖勾",
}
_NUMERALS = {numeral: digit for digit, numerals in _NUMERAL_DIGITS.items() for numeral in numerals}
_TO_DIGITS = str.maketrans(_NUMERALS)
# Characters people put between digit groups (after folding: full-width forms are ASCII already;
# invisible ones are gone). Commas and colons are left out: they belong to amounts and times.
_SEP = r"[ \t\-./()+\u2010-\u2015\u2212\u00b7\u2022\u2027\u30fb]"
_DIGIT_LIKE = "[0-9" + "".join(_NUMERALS) + "]"
_DIGIT_LIKE_RUN = re.compile(rf"{_DIGIT_LIKE}(?:{_SEP}{{0,3}}{_DIGIT_LIKE})*")
_ANY_NUMERAL = re.compile("[" + "".join(_NUMERALS) + "]")
_MIN_NUMERAL_RUN = 5  # the shortest number worth reading numerals in (a QQ number)


def _with_digits(folded: str) -> str:
    """Turn Chinese numerals into digits inside runs of digit-like characters (same length)."""
    if not _ANY_NUMERAL.search(folded):
        return folded
    parts: list[str] = []
    position = 0
    for match in _DIGIT_LIKE_RUN.finditer(folded):
        run = match.group()
        if sum(1 for ch in run if ch.isdigit() or ch in _NUMERALS) >= _MIN_NUMERAL_RUN:
            parts += [folded[position : match.start()], run.translate(_TO_DIGITS)]
            position = match.end()
    parts.append(folded[position:])
    return "".join(parts)


@dataclass(frozen=True)
class _Text:
    """One field prepared for the recognisers: folded, with numerals as digits, and the map back."""

    folded: _Folded
    digits: str  # folded text with numerals as digits; same length as folded.text

    def is_numeral(self, index: int) -> bool:
        """Return True if the digit at ``index`` was written as a Chinese numeral."""
        return self.folded.text[index] != self.digits[index]


def _prepare(text: str) -> _Text:
    """Fold a field's text and read its numerals."""
    folded = _fold(text)
    return _Text(folded, _with_digits(folded.text))


# --------------------------------------------------------------------------- digit runs

# "(" is left out: an opening bracket between numbers starts a new one ("¥1601030 (9860 RMB)").
_RUN_SEP = r"[ \t\-./)+\u2010-\u2015\u2212\u00b7\u2022\u2027\u30fb]"
_RUN = re.compile(rf"[0-9](?:{_RUN_SEP}{{0,3}}[0-9])*(?:x(?![a-z]))?")
# A separator that may end one number and start the next ("138 0013 8000 / 139…"); dashes and
# dots without spaces bind groups into one number (dates, order numbers, ISBNs).
_LOOSE = re.compile(r"[ \t/)+]|\.\.")  # ".." is an ellipsis (… folds to ...)
_MIN_DIGITS, _MAX_DIGITS = 10, 19  # the shortest and longest numbers of any kind (a landline, a bank card)
# Words after which a number is a reference or an amount, not contact data ("订单号 13800138000").
_REFERENCE = re.compile(
    r"(?:(?:订单|单号|编号|编码|代码|识别码|序列号|批号|文号|准字|国药|流水号|发票|条码|条形码|型号|货号|运单|快递|合同号|登记号|案号|邮编|"
    r"isbn|issn|doi|order|invoice|tracking|serial)(?:是|为)?[ \t:#.a-z-]{0,5}|[¥$€£][ \t]*)$"
)
# Letters glued to a number make it a code (SF1234…, v2.3) unless they say what the number is.
_GLUED = re.compile(r"(?<![a-z])(?:tel|fax|phone|mobile|mob|cell|call|no|vx|wx|wechat)$|[^a-z]$|^$")


@dataclass
class _Group:
    """Digits written together: no separator inside, one writing style (digits or numerals)."""

    start: int
    end: int
    digits: str
    separator: str  # what stands between this group and the one before ("" for a change of style)
    numeral: bool
    first: bool = False  # the run's first group
    style_change: bool = False  # digits before, numerals here, or the reverse

    @property
    def loose_before(self) -> bool:
        """Return True if a number may start at this group."""
        return self.first or self.style_change or not self.separator or bool(_LOOSE.search(self.separator))

    @property
    def spaced_before(self) -> bool:
        """Return True if only blanks separate this group from the one before (a list of numbers)."""
        return not self.first and bool(self.separator) and not self.separator.strip()


def _groups(prepared: _Text, start: int, end: int) -> list[_Group]:
    """Split one digit run into groups at separators and at changes between digits and numerals."""
    text = prepared.digits
    groups: list[_Group] = []
    separator = ""
    for index in range(start, end):
        ch = text[index]
        if not (ch.isdigit() or ch == "x"):
            separator += ch
            continue
        numeral = prepared.is_numeral(index)
        previous = groups[-1] if groups else None
        if previous and not separator and numeral == previous.numeral:
            previous.end, previous.digits = index + 1, previous.digits + ch
        else:
            # A change of style may end a number: 13800138000一直, 张三13800138000.
            groups.append(_Group(index, index + 1, ch, separator, numeral, first=previous is None,
                                 style_change=previous is not None and numeral != previous.numeral))
        separator = ""
    return groups


def _luhn(digits: str) -> bool:
    """Return True if the digits pass the Luhn check (bank cards)."""
    total = 0
    for position, ch in enumerate(reversed(digits)):
        value = int(ch) * (2 if position % 2 else 1)
        total += value - 9 if value > 9 else value
    return total % 10 == 0


def _valid_date(year: int, month: int, day: int) -> bool:
    """Return True if the numbers form a real birth date (since 1850: the standard's own example is 1880)."""
    try:
        born = date(year, month, day)
    except ValueError:
        return False
    return date(1850, 1, 1) <= born <= date.today()


_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK_CHARS = "10x98765432"
# First two digits of the administrative region (GB/T 2260); the old 15-digit number has no
# check digit, so the region has to do part of its work.
_PROVINCES = frozenset(
    "11 12 13 14 15 21 22 23 31 32 33 34 35 36 37 41 42 43 44 45 46 50 51 52 53 54 "
    "61 62 63 64 65 71 81 82".split()
)


def _id_check_char(first17: str) -> str:
    """Compute the ISO 7064 MOD 11-2 check character (lower-case x for 10)."""
    total = sum(int(digit) * weight for digit, weight in zip(first17, _ID_WEIGHTS))
    return _ID_CHECK_CHARS[total % 11]


def _is_id_number(digits: str) -> bool:
    """Return True for an 18-character ID number with a valid date and check character,
    or a 15-digit one (before 1999) with a known region and a valid date."""
    if len(digits) == 18 and digits[0] != "0" and digits[:17].isdigit():
        return (_valid_date(int(digits[6:10]), int(digits[10:12]), int(digits[12:14]))
                and _id_check_char(digits[:17]) == digits[17])
    if len(digits) == 15 and digits.isdigit() and digits[:2] in _PROVINCES:
        return _valid_date(1900 + int(digits[6:8]), int(digits[8:10]), int(digits[10:12]))
    return False


def _national(digits: str, *, bare_86: bool = True) -> str:
    """Strip a +86 / 0086 country code, restoring the trunk 0 of a landline.

    With ``bare_86`` false, a leading 86 counts as a country code only before a mobile number:
    ¥8691164 and SF8670… are not calls abroad.
    """
    if digits.startswith("0086"):
        national = digits[4:]
    elif digits.startswith("86") and len(digits) >= 12:
        national = digits[2:]
        if not bare_86 and not (len(national) == 11 and national[0] == "1"):
            return digits
    else:
        return digits
    return national if national.startswith("1") and len(national) == 11 else "0" + national


def _is_mobile(digits: str, code_apart: bool = True) -> bool:
    """Return True for a mainland mobile number, with or without country code or trunk 0."""
    national = _national(digits)
    if len(national) == 12 and national.startswith("01"):  # 013800138000, dialled from a landline
        national = national[1:]
    return len(national) == 11 and national[0] == "1" and national[1] in "3456789"


def _split_landline(digits: str, code_apart: bool = True) -> tuple[str, str] | None:
    """Return (area code, local number) of a landline number with area code, or None.

    ``code_apart`` says that a leading 86 was written as a country code (+86, or 86 on its own).
    """
    national = _national(digits, bare_86=code_apart)
    if not national.startswith("0") or len(national) < 10:
        return None
    area_length = 3 if national[1] in "12" else 4
    area, local = national[:area_length], national[area_length:]
    if national[1] == "1" and area != "010":
        return None
    return (area, local) if len(local) in (7, 8) and local[0] != "0" else None


def _is_bank_card(digits: str, code_apart: bool = True) -> bool:
    """Return True for a 16-19 digit card number of a known network (UnionPay, Visa, …) passing Luhn.

    Eighteen digits with a birth date in the ID number's place are an ID number with a wrong
    check digit (a typo, or a made-up example), not a card.
    """
    if not (16 <= len(digits) <= 19 and digits[0] in "345689" and _luhn(digits)):
        return False
    return len(digits) != 18 or not _valid_date(int(digits[6:10]), int(digits[10:12]), int(digits[12:14]))


# Kinds a digit run can be, most telling first: a valid ID number beats a card number that
# happens to pass Luhn.
_DIGIT_KINDS: tuple[tuple[Kind, Callable[[str, bool], bool]], ...] = (
    ("id_number", lambda digits, _code_apart: _is_id_number(digits)),
    ("phone", _is_mobile),
    ("bank_card", _is_bank_card),
    ("landline", lambda digits, code_apart: _split_landline(digits, code_apart) is not None),
)


def _classify(digits: str, code_apart: bool, allowed: frozenset[str]) -> tuple[int, Kind] | None:
    """Return (rank, kind) of the first allowed kind the digits are, or None."""
    if "x" in digits:
        return (0, "id_number") if _is_id_number(digits) else None
    for rank, (kind, test) in enumerate(_DIGIT_KINDS):
        if kind in allowed and test(digits, code_apart):
            return rank, kind
    return None


@dataclass(frozen=True)
class _Number:
    """A number found in a digit run: its kind, its first and last group and where it ends."""

    kind: Kind
    rank: int  # the kind's place in _DIGIT_KINDS: lower is more telling
    first: int
    last: int
    end: int


def _plausible_grouping(kind: Kind, sizes: list[int]) -> bool:
    """Reject groupings nobody writes a number in, which are lists of numbers instead.

    ``sizes`` are the digits per separated segment. More than five segments only as one digit
    each (1 3 8 0 0 …), the first perhaps glued to a country code (+861 3 8 …); a card in blocks of four or more
    (6222 0212 …, 622202 1234567890123), not "40 60 80 100 …".
    """
    if len(sizes) > 5 and (sizes[0] > 5 or max(sizes[1:]) > 1):
        return False
    return kind != "bank_card" or max(sizes) == 1 or min(sizes[:-1], default=4) >= 4


def _best_number(groups: list[_Group], first: int, tail: list[int], *, plus: bool,
                 allowed: frozenset[str]) -> _Number | None:
    """Find the most telling number made of whole groups from ``first`` on.

    ``tail[i]`` is the number of digits in ``groups[i:]``.
    """
    code_apart = plus or groups[first].digits in ("86", "0086")
    best: tuple[int, int, _Number] | None = None
    trimmed: _Number | None = None
    digits = ""
    sizes: list[int] = []
    for last in range(first, len(groups)):
        group = groups[last]
        if last > first and "+" in group.separator:
            # A "+" opens a country code: the number after it starts there, so none reaches across
            # it (一一+8613000110000 is two numerals and a phone, not a 15-digit ID number).
            break
        digits += group.digits
        if len(digits) > _MAX_DIGITS + 1:
            break
        if sizes and not group.separator:  # a change of style inside a segment
            sizes[-1] += len(group.digits)
        else:
            sizes.append(len(group.digits))
        at_end = last + 1 == len(groups) or groups[last + 1].loose_before
        # 010-6552-8888-123: a short tail after a dash is a landline's extension.
        extension = not at_end and tail[last + 1] <= 5
        found = _classify(digits, code_apart, allowed) if at_end or extension else None
        if found and not (extension and found[1] != "landline") and _plausible_grouping(found[1], sizes):
            number = _Number(found[1], found[0], first, len(groups) - 1 if extension else last,
                             groups[-1].end if extension else group.end)
            if best is None or (found[0], -len(digits)) < best[:2]:
                best = (found[0], -len(digits), number)
        # 幺三八洞洞幺三八洞洞洞一下: the last numeral may be the next word.
        if trimmed is None and group.numeral and len(group.digits) > 1:
            found = _classify(digits[:-1], code_apart, allowed)
            trimmed = _Number(found[1], found[0], first, last, group.end - 1) if found else None
    return best[2] if best else trimmed


def _numbers_in_run(prepared: _Text, groups: list[_Group], allowed: frozenset[str]) -> list[_Number]:
    """Find the numbers in one run's groups, left to right."""
    tail = [0] * (len(groups) + 1)
    for index in range(len(groups) - 1, -1, -1):
        tail[index] = tail[index + 1] + len(groups[index].digits)
    numbers: list[_Number] = []
    index = 0
    while index < len(groups):
        group = groups[index]
        plus = prepared.digits[group.start - 1 : group.start] == "+"
        found = _best_number(groups, index, tail, plus=plus, allowed=allowed) if group.loose_before else None
        if found and index + 1 < len(groups) and not groups[index + 1].separator:
            # 九110101…: a numeral word before an ID number must not turn it into a card number.
            later = _best_number(groups, index + 1, tail, plus=False, allowed=allowed)
            if later and later.rank < found.rank:
                found = later
        if found:
            numbers.append(found)
            index = found.last + 1
        elif group.numeral and len(group.digits) > 1:
            # 张三幺三八…: the first numeral may end a name.
            groups[index] = _Group(group.start + 1, group.end, group.digits[1:], "", True, first=True)
        else:
            index += 1
    return numbers


def _in_a_list(number: _Number, groups: list[_Group], covered: set[int]) -> bool:
    """Return True for a number of several groups amid other numbers (20 150 9059 8032 20 mg)."""
    if number.first == number.last:
        return False
    left = number.first - 1 not in covered and groups[number.first].spaced_before
    right = number.last + 1 < len(groups) and number.last + 1 not in covered and groups[number.last + 1].spaced_before
    return left and right


def _find_numbers(prepared: _Text) -> Iterator[tuple[Kind, int, int]]:
    """Yield (kind, start, end) of ID, mobile, card and landline numbers in digit runs."""
    text = prepared.digits
    for run in _RUN.finditer(text):
        if run.end() - run.start() < _MIN_DIGITS:  # years, doses, counts
            continue
        before = text[max(0, run.start() - 12) : run.start()]
        allowed = _allowed_kinds(before, glued_possible=not prepared.is_numeral(run.start()))
        groups = _groups(prepared, *run.span())
        numbers = _numbers_in_run(prepared, groups, allowed)
        covered = {index for number in numbers for index in range(number.first, number.last + 1)}
        for number in numbers:
            if not _in_a_list(number, groups, covered):
                start = _with_prefix(text, groups[number.first].start, groups[number.first].end)
                yield number.kind, start, _with_extension(text, number.end, number.kind)


# A mobile number whose groups are separated by commas, semicolons or bars ("138，1234，5678",
# "一三八、一二三四、五六七八"). Those separators belong to amounts and lists everywhere else, so
# the number must stand alone (not one item of a longer list, no unit after it) and be grouped
# as people group mobile numbers (3-4-4 above all), never by threes as amounts are.
_DIGIT_OR_NUMERAL = "[0-9" + "".join(_NUMERALS) + "]"
_LIST_SEP = r"[ \t]*[,;|、丨][ \t]*"
_LISTED_MOBILE = re.compile(
    rf"(?<!{_DIGIT_OR_NUMERAL}){_DIGIT_OR_NUMERAL}{{3,8}}(?:{_LIST_SEP}{_DIGIT_OR_NUMERAL}{{3,8}}){{1,2}}"
    rf"(?!{_DIGIT_OR_NUMERAL}|{_LIST_SEP}{_DIGIT_OR_NUMERAL})"
    r"(?![ \t]*(?:个|人|名|位|次|例|元|块|支|份|件|盒|袋|条|组|户|岁|天|%|mg|ml|kg))"  # counts: "发放了138，1234，5678支"
)
_LISTED_GROUPINGS = frozenset({(3, 4, 4), (3, 3, 5), (3, 8), (7, 4)})
_LISTED_HINT = re.compile(rf"{_DIGIT_OR_NUMERAL}{{3,8}}{_LIST_SEP}")  # cheap: most texts have no such group
_LIST_BEFORE = re.compile(rf"{_DIGIT_OR_NUMERAL}{_LIST_SEP}$")
_CODE_BEFORE = re.compile(r"(?<![0-9])(?:\+|\(\+?)?(?:0086|86)\)?[ \t-]{0,2}$")  # +86, (+86), 0086-


def _listed_mobiles(prepared: _Text) -> Iterator[tuple[Kind, int, int]]:
    """Yield mobile numbers whose groups are separated by commas, semicolons or bars."""
    text = prepared.folded.text
    if not _LISTED_HINT.search(text):
        return
    for match in _LISTED_MOBILE.finditer(text):
        groups = re.findall(_DIGIT_OR_NUMERAL + "+", match.group())
        sizes = list(map(len, groups))
        digits = "".join(groups).translate(_TO_DIGITS)
        glued_plus = text[match.start() - 1:match.start()] == "+"
        for code in ("0086", "86"):  # a country code glued on after a "+": +86138，1234，5678 (86191 is a count)
            if glued_plus and digits.startswith(code) and len(digits) == 11 + len(code):
                sizes[0] -= len(code)
        if (len(set(re.findall(r"[,;|、丨]", match.group()))) == 1 and tuple(sizes) in _LISTED_GROUPINGS
                and not _LIST_BEFORE.search(text, max(0, match.start() - 4), match.start())
                and _is_mobile(digits)):
            before = text[max(0, match.start() - 10):match.start()].translate(_TO_DIGITS)
            code = _CODE_BEFORE.search(before) or re.search(r"\+?$", before)
            yield "phone", match.start() - (len(before) - code.start()), match.end()


_ALL_NUMBERS = frozenset(kind for kind, _test in _DIGIT_KINDS)
_ID_ONLY = frozenset({"id_number"})  # a valid ID number is personal data whatever comes before it
_CODE_LIKE = frozenset({"id_number", "phone"})


def _allowed_kinds(before: str, *, glued_possible: bool) -> frozenset[str]:
    """Decide from the text before a digit run which kinds of number it may be."""
    if _REFERENCE.search(before):
        return _ID_ONLY
    return _ALL_NUMBERS if not glued_possible or _GLUED.search(before) else _CODE_LIKE


def _with_prefix(text: str, start: int, first_group_end: int) -> int:
    """Move a number's start over a "+" or "(" written before it: (+86) 138…, (028)…, (138) 0013…"""
    if text[start] in "08" or text[first_group_end : first_group_end + 1] == ")":
        for _ in range(2):
            start -= start > 0 and text[start - 1] in "+("
    return start


_EXTENSION = re.compile(rf"[ \t]*(?:转|分机|ext\.?|x|#)[ \t]*{_DIGIT_LIKE}{{1,5}}(?![0-9])")


def _with_extension(text: str, end: int, kind: Kind) -> int:
    """Move a landline's end over an extension written after it (转 123, ext. 123)."""
    if kind == "landline" and (match := _EXTENSION.match(text, end)):
        return match.end()
    return end


# --------------------------------------------------------------------------- keyword-led kinds

# What comes between a keyword and its value: "号", "号码", "ID", then ":", "是" or "为".
_ASK = r"(?P<ask>(?:[ \t:=]|号码|号|群号|群|id|是|为){0,8})"
_QQ = re.compile(
    r"(?:扣扣|抠抠|企鹅|(?<![a-z])(?:qq|q号|q(?=[ \t]*[:=])))" + _ASK
    + r"(?P<value>[1-9](?:[ \t-]?[0-9]){4,10})(?![0-9])"
)
_WECHAT = re.compile(
    r"(?P<word>微信|威信|薇信|徽信|维信|v信|微x|加v|加微|卫星号|(?<![a-z])(?:wechat|weixin|vx|wx))" + _ASK
    + r"(?P<value>[a-z][a-z0-9_-]{5,19})(?![a-z0-9_-])"  # IDs start with a letter
)
# Local landline numbers (no area code) are only told from counts by the word before them.
_LOCAL_LANDLINE = re.compile(
    r"(?<![a-z])(?:电话|座机|固话|办公室|热线|tel|phone|fax|传真)" + _ASK
    + r"(?P<value>[2-9][0-9]{2,3}[ \t-]?[0-9]{4})(?![0-9])"
)
_TAIWAN_PERMIT = re.compile(
    r"(?:台胞证|通行证|回乡证)" + _ASK + r"(?P<value>[0-9]{8}(?:[0-9]{2})?(?:\([a-z]\))?)(?![0-9])"
)


def _keyword_led(prepared: _Text) -> Iterator[tuple[Kind, int, int]]:
    """Yield QQ numbers, WeChat IDs, local landlines and Taiwan permits found after their keyword."""
    text = prepared.digits
    for kind, pattern in (("qq", _QQ), ("landline", _LOCAL_LANDLINE), ("travel_permit", _TAIWAN_PERMIT)):
        for match in pattern.finditer(text):
            yield kind, *match.span("value")  # type: ignore[misc]
    for match in _WECHAT.finditer(text):
        if _is_wechat_id(match["word"], match["ask"], match["value"]):
            yield "wechat", *match.span("value")


def _is_wechat_id(word: str, ask: str, value: str) -> bool:
    """Tell a WeChat ID from an English word after the keyword ("wechat account", "微信 wechat pay").

    Digits, "_" or "-", or a ":" before the value make it an ID; so does a name in pinyin.
    """
    if not value.isalpha() or re.search(r"[:=是为]|id", ask) or _is_pinyin(value):
        return True
    return word != "wechat" and value not in _NOT_WECHAT_IDS


_NOT_WECHAT_IDS = frozenset(
    "wechat weixin groups account accounts official public moments channel channels business message "
    "messages payment wallet friends people status stories program contact contacts number numbers "
    "online update updates notice notices article articles report reports".split()
)
_PINYIN = frozenset("""
a ai an ang ao ba bai ban bang bao bei ben beng bi bian biao bie bin bing bo bu ca cai can cang cao ce
cen ceng cha chai chan chang chao che chen cheng chi chong chou chu chua chuai chuan chuang chui chun
chuo ci cong cou cu cuan cui cun cuo da dai dan dang dao de dei den deng di dia dian diao die ding diu
dong dou du duan dui dun duo e ei en eng er fa fan fang fei fen feng fo fou fu ga gai gan gang gao ge
gei gen geng gong gou gu gua guai guan guang gui gun guo ha hai han hang hao he hei hen heng hong hou
hu hua huai huan huang hui hun huo ji jia jian jiang jiao jie jin jing jiong jiu ju juan jue jun ka kai
kan kang kao ke kei ken keng kong kou ku kua kuai kuan kuang kui kun kuo la lai lan lang lao le lei
leng li lia lian liang liao lie lin ling liu lo long lou lu luan lun luo lv lve ma mai man mang mao me
mei men meng mi mian miao mie min ming miu mo mou mu na nai nan nang nao ne nei nen neng ni nian niang
niao nie nin ning niu nong nou nu nuan nuo nv nve o ou pa pai pan pang pao pei pen peng pi pian piao
pie pin ping po pou pu qi qia qian qiang qiao qie qin qing qiong qiu qu quan que qun ran rang rao re
ren reng ri rong rou ru rua ruan rui run ruo sa sai san sang sao se sen seng sha shai shan shang shao
she shei shen sheng shi shou shu shua shuai shuan shuang shui shun shuo si song sou su suan sui sun suo
ta tai tan tang tao te teng ti tian tiao tie ting tong tou tu tuan tui tun tuo wa wai wan wang wei wen
weng wo wu xi xia xian xiang xiao xie xin xing xiong xiu xu xuan xue xun ya yan yang yao ye yi yin ying
yo yong you yu yuan yue yun za zai zan zang zao ze zei zen zeng zha zhai zhan zhang zhao zhe zhei zhen
zheng zhi zhong zhou zhu zhua zhuai zhuan zhuang zhui zhun zhuo zi zong zou zu zuan zui zun zuo
""".split())


@lru_cache(maxsize=1024)
def _is_pinyin(word: str) -> bool:
    """Return True if the letters split into pinyin syllables (zhangxiaoli), as names do."""
    if not word:
        return True
    return any(word[:size] in _PINYIN and _is_pinyin(word[size:]) for size in range(min(6, len(word)), 0, -1))


# --------------------------------------------------------------------------- documents, plates

_DOCUMENTS = re.compile(
    r"(?<![a-z0-9])(?:(?P<passport>e[0-9]{8}|e[a-hj-np-z][0-9]{7}|g[0-9]{8}|[dps]e[0-9]{7})"
    r"|(?P<travel_permit>c[0-9]{8}|c[a-hj-np-z][0-9]{7}|w[0-9]{8}|[hm][0-9]{8}(?:[0-9]{2})?|[lt][0-9]{8}))"
    r"(?![a-z0-9])"
)

_PLATE = re.compile(
    r"[京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼]"
    r"[ \t]?[a-hj-np-z][ \t]*[·•・.\-]?[ \t]*(?:(?P<body>[a-hj-np-z0-9]{5,6})[挂港澳领试超]?|[a-hj-np-z0-9]{4}[学警挂港澳领试超])"
    r"(?![a-z0-9])"
)
_NEW_ENERGY = re.compile(r"[a-k][a-hj-np-z0-9][0-9]{4}|[0-9]{5}[a-k]")


def _documents(prepared: _Text) -> Iterator[tuple[Kind, int, int]]:
    """Yield passport, travel permit and licence plate numbers."""
    text = prepared.digits
    for match in _DOCUMENTS.finditer(text):
        # Drug approval numbers (国药准字H20030564) share the permits' letter-and-eight-digits shape.
        if not _REFERENCE.search(text, max(0, match.start() - 12), match.start()):
            kind = "passport" if match["passport"] else "travel_permit"
            yield kind, *match.span()  # type: ignore[misc]
    for match in _PLATE.finditer(text):
        body = match["body"]
        ordinary = body is None or (len(body) == 5 and sum(ch.isdigit() for ch in body) >= 3)
        if ordinary or _NEW_ENERGY.fullmatch(body):
            yield "licence_plate", *match.span()


# --------------------------------------------------------------------------- e-mail

# 小老鼠 ("little mouse") and 圈a ("a in a circle") are what @ is called in Chinese.
_AT_WORD = r"[(\[{<][ \t]*(?:at|@)[ \t]*[)\]}>]|艾特|小老鼠|圈a|#"
_DOT_WORD = r"[(\[{<][ \t]*(?:dot|\.)[ \t]*[)\]}>]|点|。"
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_DOT = rf"(?:[ \t]*\.[ \t]*|[ \t]*(?:{_DOT_WORD})[ \t]*|[ \t]+dot[ \t]+)"
_SPACED_DOT = re.compile(r"[ \t]\.|\.[ \t]")
_PLAIN_DOT = re.compile(r"(?<![ \t])\.(?![ \t])")
_EMAIL = re.compile(
    # The look-behind makes matches start only at the beginning of a run, which keeps long runs
    # of letters linear instead of quadratic.
    r"(?<![a-z0-9._%+-])(?P<local>[a-z0-9._%+-]{1,64})"
    rf"(?P<at>[ \t]*(?:@|{_AT_WORD})[ \t]*|[ \t]+at[ \t]+)"
    rf"(?P<domain>(?:{_LABEL}{_DOT})+(?:[a-z]{{2,63}}|xn--[a-z0-9-]{{1,59}}))(?![a-z0-9-])"
)
_PLAIN_DOMAIN = re.compile(r"[a-z0-9.-]+")
# Top-level domains people actually use here; a spelled-out dot (点, 。) or "#" needs one of them.
_COMMON_TLDS = frozenset(
    "com cn net org edu gov io info me cc co hk tw mo uk us de fr jp kr sg au ca top xyz vip club "
    "site online tech biz mobi asia name pro".split()
)
# Mail providers, which make "wang at qq.com" an address rather than an English sentence.
_MAIL_DOMAINS = frozenset(
    "qq.com 163.com 126.com yeah.net sina.com sina.cn sohu.com foxmail.com 139.com 189.cn aliyun.com "
    "gmail.com hotmail.com outlook.com live.com yahoo.com icloud.com protonmail.com proton.me".split()
)


# English words that come before " at <website>" in running text.
_WORDS_BEFORE_AT = frozenset(
    "available online published posted found see seen look looked read visit visited register registered "
    "apply meet met here there it them us me him her you guidance details info information more is are "
    "was were be been arrive arrived stay stayed work worked works hosted live lives based located held "
    "download downloaded access accessed archived kept stored listed shared report reports".split()
)


def _plain_domain(domain: str) -> str:
    """Return the domain with spelled-out dots made dots."""
    return re.sub(rf"{_DOT}", ".", domain)


_TLD = re.compile(r"[a-z]{2,63}|xn--[a-z0-9-]{1,59}")


def _is_email(at: str, local: str, domain: str) -> bool:
    """Accept an address written plainly, or obfuscated in a way that cannot be ordinary text."""
    plain = _PLAIN_DOMAIN.fullmatch(domain) is not None
    labels = re.split(_DOT, domain)
    if len(labels) < 2:  # what is left once a full stop after the address is cut off: "x@y . Then"
        return False
    if at == "@" and plain:
        return True
    if not _TLD.fullmatch(labels[-1]):
        return False
    if (at.strip() == "#" or not plain) and labels[-1] not in _COMMON_TLDS:
        return False
    if _SPACED_DOT.search(domain) and not _spaced_dots_belong(at, domain):
        return False
    if at.strip() == "at":  # "available at who.int" is English; "wang at qq dot com" is not
        return labels[-1] in _COMMON_TLDS and (not plain or _plain_domain(domain) in _MAIL_DOMAINS or bool(re.search(r"[0-9._]", local))
                or (local not in _WORDS_BEFORE_AT and not domain.startswith("www.")))
    return True


def _spaced_dots_belong(at: str, domain: str) -> bool:
    """Accept "wang @ example . com" but not a sentence's full stop ("…@example.com. Me too", "at home. Me").

    Spaces around a dot are a way of writing an address only after an @ (not the English word
    "at" or a "#"), and when no dot of the domain is written plainly.
    """
    return at.strip() not in ("at", "#") and not _PLAIN_DOT.search(domain)


def _find_emails(prepared: _Text) -> Iterator[tuple[Kind, int, int]]:
    """Yield e-mail addresses, including "(at)", "艾特", "[dot]" and "点" spellings."""
    position = 0
    while match := _EMAIL.search(prepared.digits, position):
        at, local, domain = match["at"], match["local"], match["domain"]
        # A spelled-out dot may be the sentence's full stop: "…GMAIL [DOT] COM。She asked" ends at COM.
        ends = [len(domain)] + [dot.start() for dot in reversed(list(re.finditer(_DOT, domain)))]
        end = next((end for end in ends if _is_email(at, local, domain[:end])), None)
        if end is None:  # "reach the peer at ma.qiang{at}foxmail…": the address may start at the "domain"
            position = match.start("domain")
            continue
        yield "email", match.start(), match.start("domain") + end
        position = match.start("domain") + end


# --------------------------------------------------------------------------- sensitive words

_CJK_RANGES = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003ffff"
# "A word character that is not CJK": Latin names need word boundaries (so
# "Li" does not match inside "police") but Chinese text abuts Latin directly.
_NOT_AFTER_WORD = rf"(?<![^\W{_CJK_RANGES}])"
_NOT_BEFORE_WORD = rf"(?![^\W{_CJK_RANGES}])"
_SPACED_WORD_CHAR = re.compile(rf"[^\W{_CJK_RANGES}]")


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


# --------------------------------------------------------------------------- scan


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


# When two recognisers claim overlapping text, the earlier kind is reported: an e-mail address
# holds the QQ number in it, a mobile number after "微信" is reported as the mobile number.
_PRECEDENCE: tuple[Kind, ...] = ("email", "id_number", "phone", "bank_card", "landline", "passport",
                                 "travel_permit", "qq", "wechat", "licence_plate")


def _contact_spans(prepared: _Text) -> list[tuple[Kind, int, int]]:
    """Return the non-overlapping contact-data spans of a prepared text (folded offsets)."""
    candidates = [*_find_emails(prepared), *_find_numbers(prepared), *_listed_mobiles(prepared),
                  *_keyword_led(prepared), *_documents(prepared)]
    candidates.sort(key=lambda c: (_PRECEDENCE.index(c[0]), c[1]))
    taken: list[tuple[int, int]] = []  # sorted, disjoint
    kept: list[tuple[Kind, int, int]] = []
    for kind, start, end in candidates:
        index = bisect_left(taken, (end, end)) - 1  # the only kept span that could overlap ours
        if index >= 0 and taken[index][1] > start:
            continue
        taken.insert(index + 1, (start, end))
        kept.append((kind, start, end))
    return kept


def _scan_field(field: str, text: str, words: re.Pattern[str] | None) -> list[Finding]:
    """Find personal data in one field's text."""
    prepared = _prepare(text)
    spans = _contact_spans(prepared)
    if words is not None:
        spans += [("sensitive_word", *match.span()) for match in words.finditer(prepared.folded.text)]
    found = [Finding(kind, field, *prepared.folded.original_span(start, end)) for kind, start, end in spans]
    found += [Finding("name", field, start, end) for start, end in real_names.find(text)]  # original offsets
    return sorted(found, key=lambda f: (f.start, f.end, f.kind))


def scan(fields: Mapping[str, str], *, sensitive_words: Iterable[str] = ()) -> list[Finding]:
    """Return personal-data findings for every field, in field order then position."""
    words = _sensitive_pattern(sensitive_words)
    findings: list[Finding] = []
    for field, text in fields.items():
        if text:
            findings.extend(_scan_field(field, text, words))
    return findings


def mask_for_index(text: str) -> str:
    """Return the text with every piece of contact data blanked out, for the search index.

    Blanks keep the text's length and the words around a number apart, so the rest of the text
    is indexed as before while no part of a phone, ID or card number can be searched for.
    """
    if not text:
        return text
    prepared = _prepare(text)
    spans = [prepared.folded.original_span(start, end) for _kind, start, end in _contact_spans(prepared)]
    if not spans:
        return text
    parts: list[str] = []
    position = 0
    for start, end in _merge(spans):
        parts += [text[position:start], " " * (end - start)]
        position = end
    parts.append(text[position:])
    return "".join(parts)


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


def _normal(value: str) -> str:
    """Return a found value folded, with every Chinese numeral read as a digit."""
    return _fold(value).text.translate(_TO_DIGITS)


def _digits(value: str) -> str:
    """Return the ASCII digits (and ID check x) of a found value."""
    return re.sub(r"[^0-9x]", "", _normal(value))


def _hide(value: str, shown_before: int, shown_after: int) -> str:
    """Keep the first and last characters of a value and star the rest (at least one star)."""
    hidden = max(1, len(value) - shown_before - shown_after)
    return value[:shown_before] + "*" * hidden + (value[-shown_after:] if shown_after else "")


def _mask_phone(value: str) -> str:
    """Show a mobile number as 138****5678 (country code dropped)."""
    digits = _digits(value)[-11:]
    return f"{digits[:3]}****{digits[-4:]}"


def _mask_landline(value: str) -> str:
    """Show a landline as 028-****1234, extension dropped."""
    digits = _digits(value)
    for cut in range(len(digits), 6, -1):
        if parts := _split_landline(digits[:cut]):
            return f"{parts[0]}-****{parts[1][-4:]}"
    return _hide(digits, 0, 2)  # a local number found after its keyword


def _mask_id_number(value: str) -> str:
    """Show an ID number with only the first and last three characters."""
    return _hide(_digits(value).upper(), 3, 3)


def _mask_bank_card(value: str) -> str:
    """Show a card number as 6222****1234."""
    digits = _digits(value)
    return f"{digits[:4]}****{digits[-4:]}"


def _mask_email(value: str) -> str:
    """Show an e-mail address as a***@domain."""
    match = _EMAIL.search(_normal(value))
    if match is None:  # cannot happen for a value the scanner found; never echo the value
        return "***"
    return f"{match['local'][:1]}***@{_plain_domain(match['domain'])}"


def _mask_code(value: str) -> str:
    """Show a WeChat ID or QQ number by its first and last two characters."""
    return _hide(re.sub(r"[ \t-]", "", _normal(value)), 2, 2)


def _mask_document(value: str) -> str:
    """Show a passport or travel permit number as E1*****78."""
    return _mask_code(value).upper()


def _mask_plate(value: str) -> str:
    """Show a licence plate as 川A****5."""
    plate = re.sub(r"[ \t·•・.\-]", "", _normal(value)).upper()
    return _hide(plate, 2, 1)


def _mask_word(value: str) -> str:
    """Show a sensitive word by its first character only."""
    value = value.strip()
    visible = sum(1 for ch in value if not unicodedata.combining(ch))
    return value[:1] + "*" * (visible - 1)


_MASKERS: dict[str, Callable[[str], str]] = {
    "phone": _mask_phone,
    "landline": _mask_landline,
    "id_number": _mask_id_number,
    "bank_card": _mask_bank_card,
    "email": _mask_email,
    "wechat": _mask_code,
    "qq": _mask_code,
    "passport": _mask_document,
    "travel_permit": _mask_document,
    "licence_plate": _mask_plate,
    "name": _mask_word,
    "sensitive_word": _mask_word,
}
