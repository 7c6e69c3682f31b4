"""Writing a queued mail: in the reader's language and time zone, safe to show on a shared phone.

A mail holds titles, summaries and links, never a note's body, a comment's text, a moderator's
message or anyone's name or address: the reader signs in to read. Subject lines are neutral:
they never hold a note's title, and topic names (which may say "HIV" or "drug") only for readers
who opted in; a hub name with such a word gives way to the translated default name.

Each mail is written when it is sent, not when it is queued: the reader's language, address and
choices are read then, and whatever it names is checked again through the reader's audience
(``published_for(Audience.of(reader))``), so a note that became unreadable to them is left out
and a mail with nothing left is dropped.
"""
from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import formataddr, formatdate
from typing import Any

import babel.dates
import sqlalchemy as sa
from flask import current_app
from flask_babel import force_locale, gettext as _, pgettext

from hub import text_safety
from hub.extensions import db
from hub.mail import links, outbox
from hub.models import (Comment, CommentState, EmailChange, Flag, Follow, Invitation, Note, OutgoingMail,
                        PasswordReset, ReviewMessage, Term)
from hub.models.base import utcnow
from hub.models.user import User, UserStatus
from hub.services import accounts, mail_settings, translations
from hub.services.visibility import Audience, published_for, visible_notes

MAX_BYTES = 100_000  # a whole digest, both parts and headers, stays under this
DIGEST_ITEMS = 25
SUMMARY_CHARS = 280
# Words a subject line never shows unless the reader opted in (a shared phone shows subjects).
SUBJECT_WORDS = ("hiv", "aids", "艾滋", "drug", "毒品", "吸毒", "美沙酮", "methadone", "needle", "针具", "注射",
                 "inject", "prep", "性工作", "sex work", "hepatitis", "肝炎", "阳性", "overdose", "过量")


class Dropped(Exception):
    """The mail is no longer to be sent; the message says why (for the outbox, never with personal data)."""


class Unreadable(Exception):
    """The mail's token was sealed with another secret key: this worker's ``HUB_SECRET_KEY`` differs."""


def _token(mail: OutgoingMail) -> str:
    """Return the one-time token the mail carries."""
    if not mail.sealed:
        raise Dropped("its one-time link was wiped when the mail was given up")
    token = outbox.unseal(mail.sealed)
    if token is None:
        raise Unreadable("its token was sealed with another secret key: give every node the same HUB_SECRET_KEY")
    return token


@dataclass
class Item:
    """A note as a mail shows it: its title and summary in the reader's language, where it is from, a link."""

    title: str
    summary: str
    meta: str
    url: str
    lang: str


@dataclass
class Content:
    """What one mail says, before it is laid out as text and HTML."""

    subject: str
    lead: list[str]
    action: tuple[str, str] | None = None
    groups: list[tuple[str, list[Item]]] = field(default_factory=list)
    after: list[str] = field(default_factory=list)
    links: list[tuple[str, str]] = field(default_factory=list)  # (label, absolute URL) under the mail
    reason: str = ""
    unsubscribe_kind: str | None = None


@dataclass
class Reader:
    """Who a mail is for: an account (or, for an invitation, an address) with a language and a time zone."""

    user: User | None
    address: str
    locale: str
    timezone: zoneinfo.ZoneInfo

    def when(self, moment: dt.datetime) -> str:
        """Format a stored (naive UTC) time in the reader's time zone and language, naming the zone.

        Every time a mail gives is written this one way: a mail is read anywhere, and a bare
        "23:57" leaves the reader guessing whose 23:57 it is.
        """
        local = moment.replace(tzinfo=dt.timezone.utc).astimezone(self.timezone)
        with force_locale(self.locale):
            # i18n: a time in a mail: the day, the time of day, then the time zone's name, e.g.
            # "December 20, 2026, 10:57 PM (China Standard Time)"
            return _("%(date)s, %(time)s (%(zone)s)", date=babel.dates.format_date(local, "long", locale=self.locale),
                     time=babel.dates.format_time(local, "short", locale=self.locale),
                     zone=babel.dates.get_timezone_name(local, "long", locale=self.locale))

    def day(self, moment: dt.datetime) -> str:
        """Format the reader's calendar day of a stored time."""
        local = moment.replace(tzinfo=dt.timezone.utc).astimezone(self.timezone)
        return babel.dates.format_date(local.date(), "medium", locale=self.locale)


def zone_of(name: str | None) -> zoneinfo.ZoneInfo:
    """Return the time zone called ``name`` (a person's), else the hub's default."""
    try:
        return zoneinfo.ZoneInfo(name or current_app.config["DEFAULT_TIMEZONE"])
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo("UTC")


def reader_of(mail: OutgoingMail, kind: str) -> Reader:
    """Return who ``mail`` goes to, or raise :class:`Dropped` when it can no longer go to them."""
    default = current_app.config["DEFAULT_LOCALE"]
    if mail.user_id is None:
        if not mail.address:
            raise Dropped("no address")
        return Reader(None, mail.address, mail.locale or default, zone_of(None))
    user = db.session.get(User, mail.user_id)
    if mail.address:  # an account mail to an address that is not yet the account's (a new one to confirm)
        if user is None or user.status != UserStatus.ACTIVE.value:
            raise Dropped("the account is gone or not active")
        return Reader(user, mail.address, user.locale or default, zone_of(user.timezone))
    if user is None or not mail_settings.wants(user, kind):
        raise Dropped("the reader no longer wants or can receive this")
    return Reader(user, user.email or "", user.locale or default, zone_of(user.timezone))


def site_name(*, for_subject: bool = False) -> str:
    """Return the hub's name; in a subject, the default name when the configured one says too much."""
    name = str(current_app.config.get("SITE_NAME") or "")
    if not name or (for_subject and not neutral(name)):
        return _("Practice Exchange Hub")
    return name


def neutral(text: str) -> bool:
    """Tell whether ``text`` holds none of the words a subject line must not show."""
    folded = text.casefold()
    return not any(word in folded for word in SUBJECT_WORDS)


# --- notes as items ----------------------------------------------------------------------------

def _item(note: Note, shown: Note, reader: Reader) -> Item:
    summary = shown.summary if len(shown.summary) <= SUMMARY_CHARS else shown.summary[:SUMMARY_CHARS - 1] + "…"
    meta = [note.project.name(reader.locale)] if note.project else []
    meta += [p for p in (note.place, note.province) if p][:1]
    if note.published_at:
        meta.append(reader.day(note.published_at))
    return Item(title=shown.title or _("(untitled)"), summary=summary, meta=" · ".join(meta),
                url=links.url("mail.open_note", note_id=note.id), lang=shown.language.replace("_", "-"))


def readable_notes(reader: Reader, ids: list[int]) -> list[Note]:
    """Return the notes among ``ids`` the reader may read now, newest first."""
    if not ids:
        return []
    query = (sa.select(Note).where(Note.id.in_(ids), published_for(Audience.of(reader.user)))
             .order_by(Note.published_at.desc(), Note.id.desc()))
    return list(db.session.scalars(query))


def _items(reader: Reader, notes: list[Note]) -> list[Item]:
    shown = translations.published_versions(notes, locale=reader.locale, viewer=reader.user)
    return [_item(note, shown.get(note.id, note), reader) for note in notes]


def _own_note(reader: Reader, note_id: Any) -> Note:
    """Return a note the mail is about if the reader may still see it (their own in any state, or as moderator)."""
    note = db.session.get(Note, note_id) if isinstance(note_id, int) else None
    if note is None or not db.session.scalar(sa.select(Note.id).where(Note.id == note.id,
                                                                     visible_notes(Audience.of(reader.user)))):
        raise Dropped("the note is gone or no longer readable")
    return note


def _title(note: Note) -> str:
    """Return a note's title for a sentence, isolated: an override in a partner's title cannot turn the sentence."""
    return text_safety.isolated(note.title or _("(untitled)"))


# --- one builder per kind ----------------------------------------------------------------------

def _invitation(mail: OutgoingMail, reader: Reader) -> Content:
    invitation = db.session.get(Invitation, mail.payload.get("invitation_id"))
    if invitation is None or accounts.invitation_state(invitation) != "open":
        raise Dropped("the invitation is no longer open")
    token = _token(mail)
    return Content(
        subject=_("%(site)s: your invitation", site=site_name(for_subject=True)),
        lead=[_("You are invited to join %(site)s, where projects share what they learned in practice.",
                site=site_name()),
              _("The link works once, until %(time)s.", time=reader.when(invitation.expires_at))],
        action=(pgettext("mail", "Create your account"), links.url("auth.accept_invitation", token=token)),
        after=[_("If you did not expect this invitation, ignore this e-mail.")],
        reason=_("You receive this e-mail because someone at %(site)s invited this address.", site=site_name()))


def _reset(mail: OutgoingMail, reader: Reader) -> Content:
    reset = db.session.get(PasswordReset, mail.payload.get("reset_id"))
    if reset is None or reset.used_at is not None or reset.expires_at <= utcnow():
        raise Dropped("the reset link has expired or was used")
    token = _token(mail)
    return Content(
        subject=_("%(site)s: reset your password", site=site_name(for_subject=True)),
        lead=[_("Someone asked to reset the password of your account on %(site)s.", site=site_name()),
              _("The link works once, until %(time)s.", time=reader.when(reset.expires_at))],
        action=(_("Choose a new password"), links.url("auth.reset", token=token)),
        after=[_("If it was not you, ignore this e-mail: your password stays as it is.")],
        reason=_("You receive this e-mail because a password reset was asked for your account."))


def _email_change(mail: OutgoingMail, reader: Reader) -> Content:
    change = db.session.get(EmailChange, mail.payload.get("change_id"))
    if change is None or not accounts.email_change_open(change):
        raise Dropped("the e-mail link was used, expired, was superseded, or its address was taken meanwhile")
    token = _token(mail)
    # Whoever reads this inbox may not be the account's owner (a mistyped address): no name, nothing of the account.
    return Content(
        subject=_("%(site)s: confirm your e-mail address", site=site_name(for_subject=True)),
        lead=[_("Someone asked for mail from %(site)s to be sent to this address.", site=site_name()),
              _("If it was you, open the link while signed in. It works once, until %(time)s.",
                time=reader.when(change.expires_at))],
        action=(_("Use this address"), links.url("auth.confirm_email", token=token)),
        after=[_("If it was not you, ignore this e-mail: nothing will be sent to this address.")],
        reason=_("You receive this e-mail because this address was entered on an account page of %(site)s.",
                 site=site_name()))


DECISIONS: dict[str, Callable[[str], str]] = {
    "approved": lambda title: _("A moderator published your note “%(title)s”.", title=title),
    "changes_requested": lambda title: _("A moderator asks for changes to your note “%(title)s”.", title=title),
    "rejected": lambda title: _("A moderator did not accept your note “%(title)s”.", title=title),
    "unpublished": lambda title: _("A moderator took down your note “%(title)s”.", title=title),
    "changes_accepted": lambda title: _("A moderator published your changes to the note “%(title)s”.", title=title),
    "changes_returned": lambda title: _("A moderator returned your changes to the note “%(title)s”; readers still "
                                        "see the published text.", title=title),
}


def _review(mail: OutgoingMail, reader: Reader) -> Content:
    note = _own_note(reader, mail.payload.get("note_id"))
    decision = mail.payload.get("decision", "reply")
    if decision in DECISIONS:
        subject = _("%(site)s: news about your note", site=site_name(for_subject=True))
        said = db.session.scalar(sa.select(ReviewMessage.body).where(
            ReviewMessage.id == mail.payload.get("message_id")))
        lead = [DECISIONS[decision](_title(note))] + ([_("Sign in to read the moderator’s message.")] if said else [])
    else:
        subject = _("%(site)s: a new message about a note", site=site_name(for_subject=True))
        lead = [_("There is a new message in the review of the note “%(title)s”.", title=_title(note)),
                _("Sign in to read it.")]
    return Content(subject=subject, lead=lead,
                   action=(_("Open the note"), links.url("mail.open_note", note_id=note.id)),
                   reason=_("You receive this e-mail because you wrote or review this note."),
                   unsubscribe_kind="review")


def _comment(mail: OutgoingMail, reader: Reader) -> Content:
    comment = db.session.get(Comment, mail.payload.get("comment_id"))
    if comment is None or comment.removed_at is not None:
        raise Dropped("the comment was removed")
    if comment.state != CommentState.PUBLISHED:
        raise Dropped("the comment waits for a moderator")
    note = _own_note(reader, comment.note_id)
    return Content(
        subject=_("%(site)s: a new comment on your note", site=site_name(for_subject=True)),
        lead=[_("There is a new comment on your note “%(title)s”.", title=_title(note)),
              _("Sign in to read it and to answer.")],
        action=(_("Open the note"), links.url("mail.open_note", note_id=note.id)),
        reason=_("You receive this e-mail because you wrote this note."), unsubscribe_kind="comments")


def _flag(mail: OutgoingMail, reader: Reader) -> Content:
    item = db.session.get(Flag, mail.payload.get("flag_id"))
    if item is None or item.resolved_at is not None:
        raise Dropped("the report was handled")
    return Content(
        subject=_("%(site)s: a report waits for moderators", site=site_name(for_subject=True)),
        lead=[_("A member reported a note or a comment. Please look at it in the moderation queue.")],
        action=(_("Open the reports"), links.url("moderation.flags")),
        reason=_("You receive this e-mail because you are a moderator."), unsubscribe_kind="flags")


def _followed_topic(follow_ids: list[int], reader: Reader) -> str | None:
    """Return the name of a topic among the follows that brought a note (for readers who opted in)."""
    term = db.session.scalar(sa.select(Term).join(Follow, Follow.term_id == Term.id).where(Follow.id.in_(follow_ids))
                             .order_by(Follow.id).limit(1))
    return term.name(reader.locale) if term is not None else None


def _follow(mail: OutgoingMail, reader: Reader) -> Content:
    notes = readable_notes(reader, [mail.payload.get("note_id")])
    if not notes:
        raise Dropped("the note is no longer readable")
    topic = _followed_topic(list(mail.payload.get("follow_ids") or []), reader)
    subject = _("%(site)s: a new note in what you follow", site=site_name(for_subject=True))
    if topic and mail_settings.choices(reader.user).topic_subjects:
        subject = _("%(site)s: a new note on %(topic)s", site=site_name(for_subject=True), topic=topic)
    items = _items(reader, notes)
    return Content(subject=subject, lead=[_("A new note was published in what you follow:")],
                   groups=[("", items)], action=(_("Read the note"), items[0].url),
                   links=[_following_link()], reason=_("You receive this e-mail because you follow this."),
                   unsubscribe_kind="follows")


def _digest(mail: OutgoingMail, reader: Reader) -> Content:
    brought: dict[str, list[int]] = mail.payload.get("notes") or {}
    notes = readable_notes(reader, [int(k) for k in brought])
    if not notes:
        raise Dropped("none of the notes is readable any more")
    more = [_more()] if len(notes) > DIGEST_ITEMS else []
    notes = notes[:DIGEST_ITEMS]
    since = dt.datetime.fromisoformat(mail.payload["since"])
    until = dt.datetime.fromisoformat(mail.payload["until"])
    weekly = mail.kind == "digest.weekly"
    subject = (_("%(site)s: new notes this week", site=site_name(for_subject=True)) if weekly
               else _("%(site)s: new notes today", site=site_name(for_subject=True)))
    return Content(
        subject=subject,
        # i18n: the first line of a digest mail; %(start)s and %(end)s are dates
        lead=[_("New notes in what you follow, from %(start)s to %(end)s:", start=reader.day(since),
                end=reader.day(until))],
        groups=_grouped(reader, notes, brought),
        action=(_("See all notes"), links.url("notes.index")),
        after=more, links=[_following_link()],
        reason=_("You receive this e-mail because you follow topics, projects, places or searches on %(site)s.",
                 site=site_name()),
        unsubscribe_kind="follows")


def _following_link() -> tuple[str, str]:
    return _("Change what you follow and how often"), links.url("follows.index")


def _grouped(reader: Reader, notes: list[Note], brought: dict[str, list[int]]) -> list[tuple[str, list[Item]]]:
    """Group a digest's notes by topic: a topic the reader follows first, else the note's first topic."""
    followed = {f.id: f for f in db.session.scalars(sa.select(Follow).where(
        Follow.id.in_({i for ids in brought.values() for i in ids})))}
    items = dict(zip((n.id for n in notes), _items(reader, notes)))
    groups: dict[str, list[Item]] = {}
    for note in notes:
        topics = [followed[i].term for i in brought.get(str(note.id), []) if i in followed
                  and followed[i].term is not None and followed[i].term.kind == "topic"] or note.topics
        heading = topics[0].name(reader.locale) if topics else _("Other notes")
        groups.setdefault(heading, []).append(items[note.id])
    other = _("Other notes")
    return sorted(groups.items(), key=lambda group: (group[0] == other, group[0]))


BUILDERS: dict[str, tuple[str, Callable[[OutgoingMail, Reader], Content]]] = {
    # mail kind -> (the reader's choice it depends on, builder)
    "invitation": ("account", _invitation),
    "reset": ("account", _reset),
    "email_change": ("account", _email_change),
    "review": ("review", _review),
    "comment": ("comments", _comment),
    "flag": ("flags", _flag),
    "follow": ("follows", _follow),
    "digest.daily": ("follows", _digest),
    "digest.weekly": ("follows", _digest),
}


# --- laying out --------------------------------------------------------------------------------

def _render(name: str, **context: Any) -> str:
    return current_app.jinja_env.get_template(name).render(**context)


def _cte(text: str) -> str:
    """Choose a transfer encoding: quoted-printable for ASCII, base64 (the shortest) for Chinese."""
    return "quoted-printable" if text.isascii() else "base64"


def message(mail: OutgoingMail) -> EmailMessage:
    """Write ``mail`` as an e-mail message; raise :class:`Dropped` when it is no longer to be sent."""
    kind, build = BUILDERS[mail.kind]
    reader = reader_of(mail, kind)
    with force_locale(reader.locale):
        content = build(mail, reader)
        unsubscribe = (links.url("mail.unsubscribe", token=mail_settings.unsubscribe_token(reader.user,
                                                                                            content.unsubscribe_kind))
                       if content.unsubscribe_kind and reader.user is not None else None)
        context = {"content": content, "lang": reader.locale.replace("_", "-"), "site": site_name(),
                   "unsubscribe": unsubscribe, "settings": links.url("mail.settings") if reader.user else None}
        built = _lay_out(mail, reader, content, context, unsubscribe)
        while len(built.as_bytes()) > MAX_BYTES and any(items for _h, items in content.groups):
            _shorten(content)
            built = _lay_out(mail, reader, content, context, unsubscribe)
    return built


def _shorten(content: Content) -> None:
    """Drop the last quarter of a digest's notes (the oldest), saying how many more there are."""
    total = sum(len(items) for _h, items in content.groups)
    keep = max(0, total - max(1, total // 4))
    kept: list[tuple[str, list[Item]]] = []
    for heading, items in content.groups:
        if keep > 0:
            kept.append((heading, items[:keep]))
            keep -= len(items[:keep])
    content.groups = kept
    content.after = [_more()] + [p for p in content.after if p != _more()]


def _more() -> str:
    return _("There are more new notes on the hub.")


def _lay_out(mail: OutgoingMail, reader: Reader, content: Content, context: dict[str, Any],
             unsubscribe: str | None) -> EmailMessage:
    text = _render("mail/layout.txt", **context)
    html = _render("mail/layout.html", **context)
    built = EmailMessage(policy=SMTP)
    built["Subject"] = content.subject
    built["From"] = formataddr((site_name(for_subject=True), sender()))
    built["To"] = reader.address
    built["Date"] = formatdate(usegmt=True)
    built["Message-ID"] = outbox.message_id(mail, links.host())
    built["Content-Language"] = context["lang"]
    built["Auto-Submitted"] = "auto-generated"  # RFC 3834: no out-of-office replies
    if unsubscribe:
        built["List-Unsubscribe"] = f"<{unsubscribe}>"
        built["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"  # RFC 8058
    built.set_content(text, cte=_cte(text))
    built.add_alternative(html, subtype="html", cte=_cte(html))
    return built


def sender() -> str:
    """Return the From address: ``MAIL_SENDER``, else hub@ the hub's host."""
    return str(current_app.config.get("MAIL_SENDER") or f"hub@{links.host()}")

