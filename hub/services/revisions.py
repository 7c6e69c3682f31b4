"""Readable differences between a note's revisions."""
from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any

from hub.models.note import SECTIONS, Note, NoteRevision


@dataclass(frozen=True)
class Change:
    """What one revision changed compared with the one before it."""

    revision: NoteRevision
    lines: list[tuple[str, str]]  # (op, text) with op in {"+", "-", " "}; only changed areas with context


def _text(revision: Any) -> list[str]:
    if revision is None:
        return []
    parts = [f"# {revision.title}", revision.summary, "", revision.body]
    parts += [f"## {key}\n{revision.sections[key]}" for key in SECTIONS if (revision.sections or {}).get(key)]
    return "\n".join(parts).splitlines()


def diff(old: Any, new: Any, *, context: int = 2) -> list[tuple[str, str]]:
    """Return the changed lines between two texts (revisions, a note, a pending revision), with a little context."""
    lines: list[tuple[str, str]] = []
    matcher = difflib.SequenceMatcher(a=_text(old), b=_text(new), autojunk=False)
    for group in matcher.get_grouped_opcodes(context):
        if lines:
            lines.append(("…", ""))
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                lines += [(" ", line) for line in matcher.a[i1:i2]]
            if tag in ("delete", "replace"):
                lines += [("-", line) for line in matcher.a[i1:i2]]
            if tag in ("insert", "replace"):
                lines += [("+", line) for line in matcher.b[j1:j2]]
    return lines


def changes(note: Note) -> list[Change]:
    """Return every revision of ``note``, newest first, each with its diff from the previous one."""
    result = []
    previous = None
    for revision in note.revisions:
        result.append(Change(revision=revision, lines=diff(previous, revision)))
        previous = revision
    return list(reversed(result))
