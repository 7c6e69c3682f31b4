"""The one privacy check every path into the hub goes through, and what moderators do with its findings.

Notes, pending changes to published notes, translations, comments (local and from partner hubs),
review-thread replies, profile text and attachment names are all screened here with the same
scanner (:mod:`hub.services.privacy`) and the admins' list of sensitive words:

1. **warn → confirm**: :func:`require_confirmation` refuses text with findings until the writer
   confirms them (:class:`PrivacyCheckRequired` carries the findings for the page that shows them);
2. **moderators see the findings**: pages call :func:`screen` on what they show;
3. **nothing with findings goes out in one click**: :func:`require_checked` refuses a publication
   until every finding is ticked as checked or chosen for redaction (:func:`redact`).

A finding is named by :func:`key` (field, offsets and kind, never the value), so a tick given on a
page applies only to the very text the moderator read.
"""
from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l

from hub.extensions import db
from hub.models import CommentThread, SensitiveWord, User
from hub.services import privacy
from hub.services.errors import ServiceError

Finding = privacy.Finding
Fingerprint = tuple[str, str]


class PrivacyCheckRequired(ServiceError):
    """The text holds what looks like personal data; the writer must confirm or edit."""

    def __init__(self, findings: list[Finding], message: Any = None) -> None:
        super().__init__(message or _l("This note may contain personal data. Check each highlighted place."))
        self.findings = findings


class FindingsUnchecked(ServiceError):
    """A moderator tried to publish text with findings they did not tick as checked or redact."""

    def __init__(self, missing: int) -> None:
        # i18n: %(n)d is how many possible pieces of personal data the moderator has not looked at yet
        super().__init__(_l("Tick each possible piece of personal data as checked, or remove it, before "
                            "publishing (%(n)d left).", n=missing), field="findings")
        self.missing = missing


def sensitive_words() -> list[str]:
    """Return the words admins listed as personal data."""
    return list(db.session.scalars(sa.select(SensitiveWord.word)))


def screen(fields: Mapping[str, str]) -> list[Finding]:
    """Return the personal-data findings in ``fields`` (field name → text), listed words included."""
    return screen_each([fields])[0]


def screen_each(texts: Sequence[Mapping[str, str]]) -> list[list[Finding]]:
    """Return the findings of each of ``texts`` (as :func:`screen`), reading the listed words once for all:
    a list of reports costs one query, not one per report."""
    words = sensitive_words() if any(any(fields.values()) for fields in texts) else []
    return [_without_pseudonyms(fields, privacy.scan(fields, sensitive_words=words)) if any(fields.values()) else []
            for fields in texts]


def _without_pseudonyms(fields: Mapping[str, str], findings: list[Finding]) -> list[Finding]:
    """Drop the names that are pseudonyms the hub shows anyway: a member's, or a partner hub's commenter's.

    "我叫小雨" by the member whose pseudonym is 小雨 reveals nothing; nor does a pseudonym being
    chosen ("pseudonym" field: it is the name the hub will show). Only the names found are looked
    up, so a text without names costs no query.
    """
    findings = [f for f in findings if not (f.kind == "name" and f.field == "pseudonym")]
    names = {finding: " ".join(fields[finding.field][finding.start:finding.end].split()).lower()
             for finding in findings if finding.kind == "name"}
    if not names:
        return findings
    wanted = set(names.values())
    shown = set(db.session.scalars(sa.select(sa.func.lower(User.pseudonym))
                                   .where(sa.func.lower(User.pseudonym).in_(wanted))))
    shown |= set(db.session.scalars(sa.select(sa.func.lower(CommentThread.author_pseudonym))
                                    .where(sa.func.lower(CommentThread.author_pseudonym).in_(wanted))))
    return [finding for finding in findings if names.get(finding) not in shown]


def require_confirmation(fields: Mapping[str, str], *, confirmed: bool, message: Any = None) -> list[Finding]:
    """Return the findings in ``fields``; raise :class:`PrivacyCheckRequired` for unconfirmed ones."""
    findings = screen(fields)
    if findings and not confirmed:
        raise PrivacyCheckRequired(findings, message)
    return findings


def key(finding: Finding) -> str:
    """Name a finding by where it is and what kind it is (never by its value)."""
    return f"{finding.field}|{finding.start}|{finding.end}|{finding.kind}"


def require_checked(findings: Iterable[Finding], *, checked: Collection[str]) -> None:
    """Refuse unless every finding's key is among ``checked`` (ticked or redacted by a moderator)."""
    missing = sum(1 for finding in findings if key(finding) not in checked)
    if missing:
        raise FindingsUnchecked(missing)


def settle(findings: list[Finding], *, checked: Iterable[str], redact: Iterable[str]) -> list[Finding]:
    """Refuse unless a moderator ticked or chose to redact every finding; return those to redact.

    An attachment's name is not text that can be cut: it is ticked, or the author renames the file.
    """
    to_redact = set(redact)
    require_checked(findings, checked={*checked, *to_redact})
    chosen = [f for f in findings if key(f) in to_redact]
    if any(f.field.startswith("attachment:") for f in chosen):
        raise ServiceError(_l("A file name cannot be redacted here: ask the author to rename the file."),
                           field="findings")
    return chosen


def marker(language: str) -> str:
    """Return what replaces removed personal data in a text of ``language``."""
    with force_locale(language):
        # i18n: put into a note or comment in place of personal data a moderator removed
        return str(_l("[personal data removed]"))


def redact(fields: Mapping[str, str], findings: Iterable[Finding], *, language: str) -> dict[str, str]:
    """Return ``fields`` with each of ``findings`` replaced by the redaction marker."""
    mark = marker(language)
    spans: dict[str, list[tuple[int, int]]] = {}
    for finding in findings:
        spans.setdefault(finding.field, []).append((finding.start, finding.end))
    result = dict(fields)
    for field, found in spans.items():
        text = result.get(field, "")
        for start, end in reversed(_merged(found)):
            text = text[:start] + mark + text[end:]
        result[field] = text
    return result


def _merged(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def fingerprints(fields: Mapping[str, str], findings: Iterable[Finding]) -> set[Fingerprint]:
    """Return each finding as (kind, masked value): the same number written another way matches too."""
    return {(f.kind, f.masked(fields[f.field])) for f in findings if f.field in fields}
