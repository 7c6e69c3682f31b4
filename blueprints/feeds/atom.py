"""Building Atom documents (feedgen) from notes, and the ``<link rel="alternate">`` of each page.

Entries carry the note's title, summary, sanitised HTML, author pseudonym, project and topics
(each topic as a category with its name in both languages), in the note's language. Links and ids
are built from ``BASE_URL``, so a feed reads the same through any proxy.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from feedgen.feed import FeedGenerator
from flask import current_app, request, url_for
from flask_babel import gettext as _

from blueprints.web.common import public_url, utc
from blueprints.web.xmltext import xml_text
from hub.models import Note

EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
FEED_FILTERS = ("topic", "project", "language")


@dataclass(frozen=True)
class Alternate:
    """The feed of a page: its address and title."""

    href: str
    title: str


def _entry_time(note: Note) -> dt.datetime:
    # When this hub last changed the entry (changed_at), not the text's own time: a partner hub's
    # note approved here today, with its origin's older time, must look new to a reader that has it.
    return utc(note.changed_at)


def render(notes: list[Note], *, title: str, page_url: str, feed_id: str) -> bytes:
    """Return the Atom document of ``notes`` (newest first) as UTF-8 bytes; text XML cannot carry is left out."""
    feed = FeedGenerator()
    feed.id(feed_id)
    feed.title(xml_text(title))
    feed.author({"name": xml_text(current_app.config["SITE_NAME"] or _("Practice Exchange Hub"))})
    feed.link(href=page_url, rel="alternate", type="text/html")
    feed.link(href=feed_id, rel="self", type="application/atom+xml")
    feed.updated(max((_entry_time(n) for n in notes), default=EPOCH))
    for note in notes:
        entry = feed.add_entry(order="append")
        url = public_url("notes.detail", note_id=note.id)
        entry.id(url)
        entry.title(xml_text(note.title or "") or _("(untitled)"))  # feedgen refuses an entry without one
        entry.link(href=url, rel="alternate", type="text/html", hreflang=note.language.replace("_", "-"))
        entry.updated(_entry_time(note))
        entry.published(utc(note.published_at))
        entry.summary(xml_text(note.summary or ""))
        entry.content(xml_text(note.body_html or ""), type="html")
        if note.author is not None:
            entry.author({"name": xml_text(note.author.pseudonym)})
        for term in note.topics:
            entry.category(term=xml_text(term.slug), label=xml_text(f"{term.name_zh} / {term.name_en}"))
    return feed.atom_str(pretty=False)


def alternate() -> Alternate | None:
    """Return the feed matching the page being shown (None for pages without one)."""
    endpoint, args = request.endpoint, request.args
    if endpoint in ("main.index", "notes.index"):
        wanted = {name: args[name] for name in ("topic", "project") if args.get(name)}
        return Alternate(url_for("feeds.notes", **wanted), _("Atom feed of these notes"))
    if endpoint == "main.project" and request.view_args:
        return Alternate(url_for("feeds.notes", project=request.view_args["slug"]),
                         _("Atom feed of this project's notes"))
    if endpoint == "search.search" and any(args.get(k) for k in ("q", *FEED_FILTERS, "province", "population")):
        kept = {k: v for k, v in args.items() if k not in ("page", "per_page", "lang")}
        return Alternate(url_for("feeds.search", **kept), _("Atom feed of this search"))
    return None
