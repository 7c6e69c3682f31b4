"""What a redaction removed, and cutting it out of every other copy of a note's text.

When a moderator removes personal data from a note, the same data usually sits in the note's
earlier revisions, in the author's pending changes and in its translations. :class:`Removed`
describes what went: the exact strings, and the scanner's view of them (kind and masked value),
so that the same phone number written another way (spaced, with +86, in Chinese numerals) is
found too, and so that a Chinese name removed is also found in the other script: romanised in a
translation or a comment ("王小明" as "Wang Xiaoming", "Xiaoming Wang"), and, removed in pinyin, in Han
characters in the original or a comment written in Chinese ("Wang Xiaoming" as "王小明"). A run of
two to four Han characters removed is looked for in pinyin whatever it is; a run removed in pinyin is
looked for in Han characters only when it reads as a name, and never as an everyday word (see
:func:`_everyday_word`: "Li Ming" removed leaves 黎明, "dawn"). :func:`scrub` replaces every such place with the redaction marker; revisions it
changes are stamped ``redacted_at`` so the history says where something was removed.
"""
from __future__ import annotations

import difflib
import itertools
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache, cached_property
from importlib import resources
from typing import Any

from hub.models.base import utcnow
from hub.models.note import LANGUAGES, SECTIONS, NoteRevision
from hub.services import pinyin, real_names, screening, slugs

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
        """Return a pattern matching the removed Chinese names written in pinyin (those removed in Han
        characters, and those removed in pinyin written another way), None when no name was removed."""
        forms = sorted({form for literal in self.literals for name in _names_in(literal)
                        for form in _romanised_forms(name)}
                       | {form for name in self.pinyin_names for form in _reordered_forms(name)})
        return re.compile("|".join(forms), re.IGNORECASE) if forms else None

    @cached_property
    def pinyin_names(self) -> frozenset[tuple[str, ...]]:
        """Return the syllables of each Chinese name removed in pinyin ("Wang Xiaoming": wang, xiao, ming)."""
        return frozenset(syllables for literal in self.literals for name in _latin_names_in(literal)
                         if (syllables := _pinyin_name(name)))


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
        runs = [(i1, i2) for tag, i1, i2, _j1, _j2 in matcher.get_opcodes() if tag in ("delete", "replace")]
        for i1, i2 in runs:
            literals.update(_whole_words(before, starts[i1], starts[i2]))
        # The marker written over "Wang Xiaoming" shares its spaces: the diff keeps the space between the
        # two words, and only the whole run is the name (looked for in Han characters, or reordered).
        for i1, i2 in _joined(runs, old_tokens):
            literals.update(_whole_words(before, starts[i1], starts[i2]))
    gone = screening.fingerprints(old, screening.screen(old)) - screening.fingerprints(new, screening.screen(new))
    return Removed(literals=frozenset(literals), fingerprints=frozenset(gone))


def _joined(runs: list[tuple[int, int]], tokens: list[str]) -> list[tuple[int, int]]:
    """Return the runs of deleted tokens that only spaces separate, joined, where two or more were."""
    joined: list[tuple[int, int]] = []
    for i1, i2 in runs:
        if joined and not "".join(tokens[joined[-1][1]:i1]).strip():
            joined[-1] = (joined[-1][0], i2)
        else:
            joined.append((i1, i2))
    return [run for run in joined if run not in runs]


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
    finds in it (a moderator deletes "姓名：王小明" whole, or "王小明，电话…"). An everyday word counts too
    (东门, "east gate", removed as the meeting place): in pinyin it is no English word to spare."""
    found = [literal[start:stop] for start, stop in real_names.find(literal)]
    return [name for name in dict.fromkeys([literal, *found])
            if slugs.HAN_RE.fullmatch(name) and len(name) in NAME_LENGTHS]


# Words jieba's dictionary counts at least this often are everyday words (黎明 "dawn" 670, 东门 409,
# 高峰 1556), not names (王小明 3; most names are not in it). A name that is also a famous one (李娜 438)
# is missed: the price of never cutting "dawn" out of a comment because "Li Ming" was removed.
EVERYDAY = 100


@cache
def _everyday_words() -> frozenset[str]:
    """Return the words of two to four characters in jieba's dictionary counted at least :data:`EVERYDAY` times."""
    words = set()
    with resources.files("jieba").joinpath("dict.txt").open(encoding="utf-8") as lines:
        for line in lines:
            word, frequency, _tag = line.split(" ", 2)
            if len(word) in NAME_LENGTHS and int(frequency) >= EVERYDAY:
                words.add(word)
    return frozenset(words)


def _everyday_word(han: str) -> bool:
    """Tell whether a run of Han characters is an everyday word, which never crosses scripts as a name."""
    return han in _everyday_words()


def _romanised_forms(literal: str) -> list[str]:
    """Return patterns for a removed Han name in pinyin without tones, whole words only.

    Surname first ("Wang Xiaoming", "Wang Xiao Ming", "wangxiaoming") and given name first
    ("Xiaoming Wang"; "Ming Ouyang" of 欧阳明, the surname of two characters). The surname is read
    in each of its readings (曾: Zeng or Ceng), the given name as pypinyin reads the phrase.
    """
    readings = [[reading] for reading in pinyin.syllables(literal)]
    readings[0] += pinyin.readings(literal[0])
    syllables = [_syllable(each) for each in readings]
    if None in syllables:  # a character pypinyin cannot read: the rest alone ("Wang") is no name
        return []
    orders = [syllables] + [syllables[size:] + syllables[:size] for size in (1, 2) if size < len(syllables)]
    gap = _SYLLABLE_GAP if len(literal) == min(NAME_LENGTHS) else _SYLLABLE_GAP + "?"
    return [_LATIN_EDGE_BEFORE + gap.join(order) + _LATIN_EDGE_AFTER for order in orders]


# --- a name removed in pinyin, looked for in Han characters and written another way -----------------

_LATIN_RUN = re.compile(r"[A-Za-zÜü]+(?:(?:\s+|[-'’])[A-Za-zÜü]+){0,3}")
_LATIN_GAP = re.compile(r"\s+|[-'’]")
_LONGEST_SYLLABLE = 6  # "zhuang", "shuang"


@cache
def _syllables() -> frozenset[str]:
    """Return every toneless syllable pypinyin reads a character as (ü written v): some 400, less the
    interjections without a vowel (m, n, ng, hm), which would split English words into "syllables"."""
    return frozenset(plain for plain in pinyin.every_reading()
                     if plain.isascii() and plain.isalpha() and re.search("[aeiouv]", plain))


def _split_syllables(word: str) -> list[str] | None:
    """Split a word written in pinyin into the fewest syllables ("xiaoming": xiao, ming); None when it is none."""
    word, known = word.lower().replace("ü", "v"), _syllables()
    best: list[list[str] | None] = [[]] + [None] * len(word)
    for stop in range(1, len(word) + 1):
        for start in range(max(0, stop - _LONGEST_SYLLABLE), stop):
            before = best[start]
            if before is not None and word[start:stop] in known and (
                    best[stop] is None or len(before) + 1 < len(best[stop])):
                best[stop] = [*before, word[start:stop]]
    return best[-1] or None


@cache
def _surnames() -> tuple[frozenset[str], frozenset[tuple[str, str]]]:
    """Return the readings of the common surnames: single syllables (曾: zeng, ceng), and compound pairs."""
    single = {reading for name in real_names.SURNAMES for reading in pinyin.readings(name)}
    compound = {tuple(pinyin.syllables(name)) for name in real_names.COMPOUND_SURNAMES}
    return frozenset(single), frozenset(compound)  # type: ignore[arg-type]


def _latin_names_in(literal: str) -> list[str]:
    """Return the runs of a removed literal that may be a name in pinyin: the literal itself, and the
    names the scanner finds in it ("Name: Wang Xiaoming" deleted whole)."""
    found = [literal[start:stop] for start, stop in real_names.find(literal)]
    return [name for name in dict.fromkeys([literal, *found]) if _LATIN_RUN.fullmatch(name)]


def _pinyin_name(text: str) -> tuple[str, ...] | None:
    """Return the syllables of a Chinese name written in pinyin, surname first or last ("Wang Xiaoming",
    "Xiao-ming Wang", "wangxiaoming"); None for anything else ("John Smith", "human").

    Two to four syllables, all pinyin, a common surname first or last. Two syllables must be two
    words: run together they are too often an English word ("Hu Man" is a name, "human" is not).
    """
    words = _LATIN_GAP.split(text)
    parts = [_split_syllables(word) for word in words]
    if any(part is None for part in parts):
        return None
    syllables = tuple(itertools.chain.from_iterable(parts))  # type: ignore[arg-type]
    if len(syllables) not in NAME_LENGTHS or (len(syllables) == 2 and len(words) < 2):
        return None
    return syllables if _surname_first(syllables) else None


def _reordered_forms(syllables: tuple[str, ...]) -> list[str]:
    """Return patterns for a name removed in pinyin written in any order and spacing ("Xiaoming Wang",
    "Wang Xiao Ming", "wangxiaoming" of "Wang Xiaoming"), whole words only."""
    gap = _SYLLABLE_GAP if len(syllables) == min(NAME_LENGTHS) else _SYLLABLE_GAP + "?"
    spelled = [_syllable([each]) or re.escape(each) for each in syllables]
    orders = [spelled[size:] + spelled[:size] for size in range(len(spelled))]
    return [_LATIN_EDGE_BEFORE + gap.join(order) + _LATIN_EDGE_AFTER for order in orders]


def _surname_first(syllables: tuple[str, ...]) -> set[tuple[str, ...]]:
    """Return a name in pinyin with its surname first, as Han characters write it: "Xiaoming Wang" as
    wang, xiao, ming (both, when either end reads as a surname)."""
    single, compound = _surnames()
    orders = set()
    if syllables[0] in single or syllables[:2] in compound:
        orders.add(syllables)
    if syllables[-1] in single:
        orders.add(syllables[-1:] + syllables[:-1])
    if syllables[-2:] in compound:
        orders.add(syllables[-2:] + syllables[:-2])
    return orders


@cache
def _readings(character: str) -> frozenset[str]:
    """Return a Han character's toneless readings (ü written v, and u, as names are written in Latin letters)."""
    readings = set(pinyin.readings(character))
    return frozenset(readings | {reading.replace("v", "u") for reading in readings})


def _han_names(text: str, names: frozenset[tuple[str, ...]]) -> Iterator[tuple[int, int]]:
    """Yield [start, end) of each run of Han characters in ``text`` that reads as one of the ``names``
    removed in pinyin: a common surname first, the given name after it, and no everyday word."""
    single, compound = real_names.SURNAMES, real_names.COMPOUND_SURNAMES
    wanted = {order for name in names for order in _surname_first(name)}
    lengths = sorted({len(order) for order in wanted})
    for start, character in enumerate(text):
        if character not in single and text[start:start + 2] not in compound:
            continue
        for length in lengths:
            run = text[start:start + length]
            if (len(run) == length and slugs.HAN_RE.fullmatch(run) and not _everyday_word(run)
                    and any(all(s in _readings(c) for s, c in zip(order, run)) for order in wanted
                            if len(order) == length)):
                yield start, start + length


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
        if removed.pinyin_names:
            spans.extend(screening.Finding("sensitive_word", name, start, stop)
                         for start, stop in _han_names(text, removed.pinyin_names))
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
