"""Names people choose: normalised, free of invisible and direction-changing characters, and
compared by how they look.

Pseudonyms, note titles, tags, project and topic names are shown inline with other text. An
invisible character (a zero-width space, a Hangul filler) can make two names look the same or
hide a word from a moderator; a bidi override (U+202E) can reverse the rest of a line. So a name
is NFC-normalised and refused when it holds control or format characters — except a zero-width
joiner inside an emoji sequence (👩‍⚕️) — or nothing visible at all.

Two pseudonyms that look alike (``Lily`` and ``LiIy`` with a capital I, ``paypal`` and ``pаypal``
with a Cyrillic а, full-width ``Ｌｉｌｙ``) have the same *skeleton* as defined by Unicode
Technical Standard #39, computed here from Unicode's own ``confusables.txt`` (``hub/data/``,
Version 17.0.0, with its licence note) after NFKC, and then case-folded. Beyond UTS #39, names
that read as the same name are given one skeleton too: Traditional Chinese is folded to Simplified
(管理員 and 管理员) with OpenCC's ``t2s``, as search folds it (``search_index.folding``, which this
leaf may not import), and spaces inside a name are dropped (山 风 and 山风).

No Flask, no database: services turn :class:`UnsafeName` into their own errors.
"""
from __future__ import annotations

import hashlib
import unicodedata
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    import opencc

__all__ = ["UnsafeName", "clean_name", "cut", "isolated", "shows_nothing", "skeleton", "without_controls",
           "without_unsafe"]

CONFUSABLES = Path(__file__).with_name("data") / "confusables.txt"
CONFUSABLES_SHA256 = "ec88ecebcf89f63f813d460842b0cf8322744b40a0b2c06f88a2cea48c0351ea"

_ZWJ = "\u200d"
# Default-ignorable characters that are not format (Cf) characters but draw nothing: the
# combining grapheme joiner, Hangul fillers, Khmer inherent vowels, Mongolian variation selectors.
_INVISIBLE = frozenset("\u034f\u115f\u1160\u3164\uffa0\u17b4\u17b5\u180b\u180c\u180d\u180f")
_EMOJI_SELECTORS = frozenset(map(chr, range(0xFE00, 0xFE10)))  # ❤️ (FE0F), 1️⃣
_IDEOGRAPHIC_SELECTORS = frozenset(map(chr, range(0xE0100, 0xE01F0)))  # a glyph variant of a Han character
_VARIATION_SELECTORS = _EMOJI_SELECTORS | _IDEOGRAPHIC_SELECTORS
_EMOJI_MODIFIERS = frozenset(map(chr, range(0x1F3FB, 0x1F400)))  # skin tones
# Characters that look like a blank: they may stand between words but cannot be a whole name.
_BLANK = frozenset("\u2800")


class UnsafeName(ValueError):
    """A name holds invisible or direction-changing characters, or nothing visible."""

    def __init__(self, reason: Literal["invisible", "empty"]) -> None:
        super().__init__(reason)
        self.reason = reason


def _pictographic(ch: str) -> bool:
    """Return True for emoji and other pictographs, between which a joiner is legitimate."""
    code = ord(ch)
    return (0x1F000 <= code <= 0x1FAFF or 0x2600 <= code <= 0x27BF or 0x2300 <= code <= 0x23FF
            or 0x2B00 <= code <= 0x2BFF or 0x2190 <= code <= 0x21FF or ch in "\u00a9\u00ae\u203c\u2049\u2122\u2139")


def _base_before(text: str, index: int) -> str:
    """Return the character an emoji modifier or selector at ``index`` attaches to ("" if none)."""
    while index > 0:
        index -= 1
        if text[index] not in _VARIATION_SELECTORS and text[index] not in _EMOJI_MODIFIERS:
            return text[index]
    return ""


def _continues(text: str, index: int) -> bool:
    """Return True if the character at ``index`` belongs to the one before it (same grapheme cluster)."""
    ch = text[index]
    return (unicodedata.category(ch) in ("Mn", "Mc", "Me") or ch == _ZWJ or text[index - 1] == _ZWJ
            or ch in _VARIATION_SELECTORS or ch in _EMOJI_MODIFIERS or 0xE0020 <= ord(ch) <= 0xE007F)


def cut(text: str, limit: int) -> str:
    """Return at most ``limit`` characters of ``text``, ending before a character cluster it would split.

    Only for text that is not a person's input here (a partner hub's, a diagnostic): what people
    write is refused when too long, never cut. A letter keeps its accents, an emoji its skin tone,
    selector and joined parts (👩‍⚕️), or they go together. (Python counts code points, so a
    surrogate pair is one character and is never split.)
    """
    if len(text) <= limit:
        return text
    end = limit
    while end > 0 and _continues(text, end):
        end -= 1
    return text[:end]


def _allowed(text: str, index: int) -> bool:
    """Return True if the character at ``index`` may stand in a name where it is."""
    ch = text[index]
    category = unicodedata.category(ch)
    if ch == _ZWJ:  # 👩‍⚕ : a joiner between two pictographs, never elsewhere
        after = text[index + 1 : index + 2]
        return _pictographic(_base_before(text, index) or " ") and bool(after) and _pictographic(after)
    if ch in _VARIATION_SELECTORS:  # only after what they vary, where they are seen
        base = _base_before(text, index)
        if ch in _IDEOGRAPHIC_SELECTORS:
            return bool(base) and unicodedata.category(base) == "Lo"
        return bool(base) and (_pictographic(base) or base in "0123456789#*")
    return category not in ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp") and ch not in _INVISIBLE


def isolated(text: str) -> str:
    """Return text between FIRST STRONG ISOLATE and POP DIRECTIONAL ISOLATE, for labels that take
    no markup (<option>, checkbox labels built by forms): an override inside cannot leak out."""
    return f"\u2068{text}\u2069"


def without_unsafe(text: str) -> str:
    """Return text NFC-normalised with what :func:`clean_name` refuses taken out (line breaks and tabs
    become spaces): for names another system sent, which cannot be sent back for correction."""
    text = unicodedata.normalize("NFC", text)
    kept = []
    for index, ch in enumerate(text):
        if _allowed(text, index):
            kept.append(ch)
        elif ch in "\t\n\r\u2028\u2029":
            kept.append(" ")
    return "".join(kept)


def _is_control(ch: str) -> bool:
    code = ord(ch)
    return ((code < 0x20 and ch not in "\t\n") or 0x7F <= code <= 0x9F or 0xD800 <= code <= 0xDFFF
            or 0xFDD0 <= code <= 0xFDEF or code & 0xFFFE == 0xFFFE)


def without_controls(text: str) -> str:
    """Return running text (a summary, a note, a comment) without the characters no reader can see
    and no document format may carry: control characters but tab and line feed (a CR is a line
    break, made LF by the forms), lone surrogates and Unicode's noncharacters (U+FFFE, U+FFFF…).
    Pasted from a PDF or a chat, they are invisible on the page, but one of them in a summary made
    every Atom feed and OAI-PMH answer fail (XML 1.0 cannot hold them)."""
    if all(" " <= ch < "\x7f" or ch == "\n" for ch in text):  # the common case, in one pass
        return text
    return "".join(ch for ch in text if not _is_control(ch))


def shows_nothing(text: str) -> bool:
    """Return True if ``text`` draws nothing: only spaces, blanks, marks without a base, invisible,
    format or control characters (a comment of zero-width spaces is an empty comment)."""
    return all(ch.isspace() or ch in _BLANK or ch in _INVISIBLE or ch in _VARIATION_SELECTORS
               or unicodedata.combining(ch) or unicodedata.category(ch) in ("Cc", "Cf") for ch in text)


def clean_name(text: str) -> str:
    """Return the name NFC-normalised and stripped; raise UnsafeName if it cannot be shown safely."""
    name = unicodedata.normalize("NFC", text).strip()
    if not all(_allowed(name, index) for index in range(len(name))):
        raise UnsafeName("invisible")
    if name and shows_nothing(name):
        raise UnsafeName("empty")
    return name


@cache
def _prototypes() -> dict[str, str]:
    """Read confusables.txt: each source character and the prototype it looks like."""
    data = CONFUSABLES.read_bytes()
    if hashlib.sha256(data).hexdigest() != CONFUSABLES_SHA256:
        raise RuntimeError(f"{CONFUSABLES} is not the file this code was written for (checksum differs)")
    prototypes: dict[str, str] = {}
    for line in data.decode("utf-8-sig").splitlines():
        fields = line.split("#", 1)[0].split(";")
        if len(fields) < 2:
            continue
        source, target = fields[0].strip(), fields[1].split()
        prototypes[chr(int(source, 16))] = "".join(chr(int(code, 16)) for code in target)
    return prototypes


def _tr39_skeleton(text: str) -> str:
    """Return skeleton(text) per UTS #39 section 4: NFD, ignorables removed, prototypes, NFD."""
    prototypes = _prototypes()
    decomposed = unicodedata.normalize("NFD", text)
    visible = (ch for ch in decomposed if unicodedata.category(ch) != "Cf" and ch not in _INVISIBLE
               and ch not in _VARIATION_SELECTORS)
    return unicodedata.normalize("NFD", "".join(prototypes.get(ch, ch) for ch in visible))


def skeleton(text: str) -> str:
    """Return the case-folded confusable skeleton: equal for names that look alike.

    NFKC comes first: confusables.txt leaves some width variants to normalisation (full-width ｒ
    has no entry); Traditional characters are folded to Simplified next. Case-folding comes after
    the skeleton (capital I looks like l, and would not once folded to i) and the skeleton is taken
    again after it, for letters whose lower case has a prototype; spaces go last (a prototype may
    be one). Compare case variants (LILY, lily) separately: they do not look alike.
    """
    folded = _to_simplified(unicodedata.normalize("NFKC", text))
    shape = _tr39_skeleton(_tr39_skeleton(folded).casefold())
    return "".join(ch for ch in shape if not ch.isspace() and ch not in _BLANK)


def _to_simplified(text: str) -> str:
    """Return text with Traditional Chinese characters folded to Simplified (ASCII as it is)."""
    return text if text.isascii() else _t2s().convert(text)


@cache
def _t2s() -> opencc.OpenCC:
    """Return this process's Traditional-to-Simplified converter."""
    import opencc

    return opencc.OpenCC("t2s")
