"""What a redaction removed, and cutting it out of every other copy of a note's text.

When a moderator removes personal data from a note, the same data usually sits in the note's
earlier revisions, in the author's pending changes and in its translations. :class:`Removed`
describes what went: the exact strings, and the scanner's view of them (kind and masked value),
so that the same phone number written another way (spaced, with +86, in Chinese numerals) is
found too, and so that a Chinese name removed is also found romanised in a translation
("王小明" as "Wang Xiaoming"). :func:`scrub` replaces every such place with the redaction marker;
revisions it changes are stamped ``redacted_at`` so the history says where something was removed.
"""
from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from pypinyin import Style, lazy_pinyin, pinyin

from hub.models.base import utcnow
from hub.models.note import LANGUAGES, SECTIONS, NoteRevision
from hub.services import real_names, screening, slugs

TEXT_FIELDS = ("title", "summary", "body")
# A removed run shorter than this (after trimming) is not looked for elsewhere: one character
# deleted in an edit says nothing about a person.
MIN_LITERAL = 2
_TRIM = re.compile(r"^[\s\W_]+|[\s\W_]+$")


@dataclass(frozen=True)
class Removed:
    """What a redaction took out: exact strings and (kind, masked value) fingerprints."""

    literals: frozenset[str] = field(default_factory=frozenset)
    fingerprints: frozenset[screening.Fingerprint] = field(default_factory=frozenset)

    def __bool__(self) -> bool:
        return bool(self.literals or self.fingerprints)

    @cached_property
    def romanised(self) -> re.Pattern[str] | None:
        """Return a pattern matching the removed Chinese names written in pinyin, None when none was removed."""
        forms = sorted(form for literal in self.literals for name in _names_in(literal)
                       for form in _romanised_forms(name))
        return re.compile("|".join(forms), re.IGNORECASE) if forms else None


def text_fields(item: Any) -> dict[str, str]:
    """Return the text of a note, revision or pending revision as field name → text."""
    fields = {name: getattr(item, name) or "" for name in TEXT_FIELDS}
    fields.update({f"section:{key}": text for key, text in (item.sections or {}).items() if key in SECTIONS})
    return fields


def set_text_fields(item: Any, fields: Mapping[str, str]) -> None:
    """Write field name → text back into a note, revision or pending revision."""
    for name in TEXT_FIELDS:
        setattr(item, name, fields.get(name, ""))
    item.sections = {key: fields[f"section:{key}"] for key in SECTIONS if fields.get(f"section:{key}")}


def removed_between(old: Mapping[str, str], new: Mapping[str, str]) -> Removed:
    """Return what an edit from ``old`` to ``new`` took out (a moderator's "redact now")."""
    literals: set[str] = set()
    for name, before in old.items():
        after = new.get(name, "")
        # Compared word by word (each ideograph a word): a name replaced by the marker is one deleted run,
        # where a letter-by-letter diff would align the letters both share and leave only pieces of words.
        old_tokens, new_tokens = _tokens(before), _tokens(after)
        starts = [0]
        for token in old_tokens:
            starts.append(starts[-1] + len(token))
        matcher = difflib.SequenceMatcher(a=old_tokens, b=new_tokens, autojunk=False)
        for tag, i1, i2, _j1, _j2 in matcher.get_opcodes():
            if tag in ("delete", "replace"):
                literals.update(_whole_words(before, starts[i1], starts[i2]))
    gone = screening.fingerprints(old, screening.screen(old)) - screening.fingerprints(new, screening.screen(new))
    return Removed(literals=frozenset(literals), fingerprints=frozenset(gone))


def removed_findings(fields: Mapping[str, str], findings: Iterable[screening.Finding]) -> Removed:
    """Return the findings a moderator chose to remove, as something to look for elsewhere."""
    findings = list(findings)
    literals = {piece for f in findings for piece in _literals(fields[f.field][f.start:f.end])}
    return Removed(literals=frozenset(literals), fingerprints=frozenset(screening.fingerprints(fields, findings)))


_WORD = re.compile(r"[^\s\W_]")
_IDEOGRAPH = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003ffff]")


_TOKEN = re.compile(_IDEOGRAPH.pattern + r"|[^\W_]+|\s+|.", re.DOTALL)  # each ideograph a word of its own


def _tokens(text: str) -> list[str]:
    """Split ``text`` into words (each ideograph one), runs of space and single other characters."""
    return _TOKEN.findall(text)


def _whole_words(text: str, start: int, stop: int) -> set[str]:
    """Return the trimmed run ``text[start:stop]`` as a literal to look for, if it is made of whole words.

    A diff aligns a rewritten sentence letter by letter ("Call Lee on 138…" → "Call the centre."
    deletes "Le" of "Lee"): such a piece of a word is no personal data, and cutting it out of every
    revision and translation would maim their text. Each ideograph counts as a word of its own.
    """
    run = text[start:stop]
    trimmed = _TRIM.sub("", run)
    if not trimmed:
        return set()
    start += run.index(trimmed)
    stop = start + len(trimmed)
    if not (_boundary(text, start) and _boundary(text, stop)):
        return set()
    return _literals(trimmed)


def _boundary(text: str, at: int) -> bool:
    if at in (0, len(text)):
        return True
    before, after = text[at - 1], text[at]
    return not (_WORD.match(before) and _WORD.match(after)) or bool(_IDEOGRAPH.match(before) or _IDEOGRAPH.match(after))


def _literals(text: str) -> set[str]:
    trimmed = _TRIM.sub("", text)
    return {trimmed} if len(trimmed) >= MIN_LITERAL else set()


# A name is two to four Han characters: a longer run is a phrase, whose pinyin could be ordinary words.
NAME_LENGTHS = range(2, 5)
# Between the syllables of a romanised name: spaces, a hyphen or an apostrophe, or nothing ("Xiaoming").
# Two syllables run together are too often an English word ("Hu Man" is no "human"): a name of two
# characters is looked for with a gap only.
_SYLLABLE_GAP = r"(?:\s+|[-'’])"
_LATIN_EDGE_BEFORE, _LATIN_EDGE_AFTER = r"(?<![A-Za-z0-9])", r"(?![A-Za-z0-9])"


def _names_in(literal: str) -> list[str]:
    """Return the Chinese names in a removed run: the run itself when it is one, and those the scanner
    finds in it (a moderator deletes "姓名：王小明" whole, or "王小明，电话…")."""
    found = [literal[start:stop] for start, stop in real_names.find(literal)]
    return [name for name in dict.fromkeys([literal, *found])
            if slugs.HAN_RE.fullmatch(name) and len(name) in NAME_LENGTHS]


def _romanised_forms(literal: str) -> list[str]:
    """Return patterns for a removed Han name in pinyin without tones, whole words only.

    Surname first ("Wang Xiaoming", "Wang Xiao Ming", "wangxiaoming") and given name first
    ("Xiaoming Wang"; "Ming Ouyang" of 欧阳明, the surname of two characters). The surname is read
    in each of its readings (曾: Zeng or Ceng), the given name as pypinyin reads the phrase.
    """
    readings = [[reading] for reading in lazy_pinyin(literal, style=Style.NORMAL)]
    readings[0] += pinyin(literal[0], style=Style.NORMAL, heteronym=True)[0]
    syllables = [_syllable(each) for each in readings]
    if None in syllables:  # a character pypinyin cannot read: the rest alone ("Wang") is no name
        return []
    orders = [syllables] + [syllables[size:] + syllables[:size] for size in (1, 2) if size < len(syllables)]
    gap = _SYLLABLE_GAP if len(literal) == min(NAME_LENGTHS) else _SYLLABLE_GAP + "?"
    return [_LATIN_EDGE_BEFORE + gap.join(order) + _LATIN_EDGE_AFTER for order in orders]


def _syllable(readings: list[str]) -> str | None:
    """Return a pattern for one character's pinyin readings (ü written v, u, ü or yu), None without any."""
    spelled = sorted({re.escape(r).replace("v", "(?:v|u|ü|yu)") for r in readings if r.isascii() and r.isalpha()})
    return "(?:" + "|".join(spelled) + ")" if spelled else None


def scrub(fields: Mapping[str, str], removed: Removed, *, language: str) -> dict[str, str]:
    """Return ``fields`` with every place holding removed data replaced by the redaction marker."""
    if not removed:
        return dict(fields)
    wanted = [f for f in screening.screen(fields)
              if (f.kind, f.masked(fields[f.field])) in removed.fingerprints]
    spans: list[screening.Finding] = list(wanted)
    for name, text in fields.items():
        for literal in removed.literals:
            start = text.find(literal)
            while start >= 0:
                stop = start + len(literal)
                if _boundary(text, start) and _boundary(text, stop):  # "Lee" removed leaves "Leeds"
                    spans.append(screening.Finding("sensitive_word", name, start, stop))
                    start = text.find(literal, stop)
                else:
                    start = text.find(literal, start + 1)
        if removed.romanised is not None:
            spans.extend(screening.Finding("sensitive_word", name, m.start(), m.end())
                         for m in removed.romanised.finditer(text))
    return screening.redact(fields, spans, language=language)


def scrub_item(item: Any, removed: Removed, *, language: str) -> bool:
    """Scrub a note, revision or pending revision in place; return whether its text changed."""
    before = text_fields(item)
    after = scrub(before, removed, language=language)
    if after == before:
        return False
    set_text_fields(item, after)
    return True


def scrub_revisions(revisions: Iterable[NoteRevision], removed: Removed, *, language: str) -> int:
    """Scrub earlier revisions, stamping each one changed; return how many changed."""
    changed = 0
    for revision in revisions:
        if scrub_item(revision, removed, language=language):
            revision.redacted_at = utcnow()
            changed += 1
    return changed


# --- what a partner hub takes of a redaction of its member's comment -----------------------------

def _squeezed(text: str) -> str:
    return " ".join(text.split())


def only_cuts(before: str, after: str) -> bool:
    """Tell whether ``after`` is ``before`` with one or more spans replaced by the redaction marker.

    The hub a comment was written on takes this, and only this, from the note's origin (whose
    moderators hold the note's conversation): no partner may put other words in a member's mouth.
    Whitespace does not count (each hub renders the text again).
    """
    markers = sorted({screening.marker(language) for language in LANGUAGES}, key=len, reverse=True)
    pieces = re.split("|".join(re.escape(m) for m in markers), _squeezed(after))
    before = _squeezed(before)
    if len(pieces) < 2 or not before.startswith(pieces[0]):
        return False
    position = len(pieces[0])
    for piece in pieces[1:-1]:  # each marker stands for at least one character cut out
        found = before.find(piece, position + 1)
        if found < 0:
            return False
        position = found + len(piece)
    tail = len(before) - len(pieces[-1])
    return before.endswith(pieces[-1]) and tail >= position + 1


def same_text(before: str, after: str) -> bool:
    """Tell whether two texts differ in whitespace at most (as :func:`only_cuts` compares them)."""
    return _squeezed(before) == _squeezed(after)


def mark_cuts(before: str, after: str, *, language: str) -> str | None:
    """Return ``before`` with each span that ``after`` leaves out replaced by the redaction marker.

    None when ``after`` does more than leave spans out (other words, a marker typed in): a
    moderator's plain deletions can so travel as a redaction the writer's hub takes.
    """
    marker = screening.marker(language)
    pieces: list[str] = []
    for tag, i1, i2, _j1, _j2 in difflib.SequenceMatcher(a=before, b=after, autojunk=False).get_opcodes():
        cut = before[i1:i2]
        if tag == "equal" or (tag == "delete" and not cut.strip()):
            pieces.append(cut)
        elif tag == "delete":  # the marker where the span was, keeping the spaces around it
            pieces.append(cut[:len(cut) - len(cut.lstrip())] + marker + cut[len(cut.rstrip()):])
        else:
            return None
    return "".join(pieces)
