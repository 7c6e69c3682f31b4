"""Atom feeds: ``/notes.atom`` (optionally by topic, project or language) and ``/search.atom`` (a saved search).

``/notes.atom`` holds the notes this hub changed last (published, published again, edited here),
newest change first; each entry's ``updated`` is that change, ``published`` the note's publication.

Anonymous readers get public notes. ``?token=`` with a person's feed token gives that person's
partners-visible feed (public notes and the partners notes written here, never members-only
notes: a feed address travels into feed readers); a revoked or unknown token is a 404. Feeds
carry an ETag (a hash of the feed), so readers polling an unchanged feed get 304; no
Last-Modified, which would go backwards when the newest note is taken down (``blueprints/api/http.py``).
"""
from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, current_app, make_response, request
from flask_babel import get_locale
from flask_babel import gettext as _

import search_index
from blueprints.feeds import atom
from blueprints.web.access import public
from blueprints.web.common import conditional, public_url
from blueprints.web.errors import render_error
from blueprints.web.search_params import SearchParams
from hub.models import LANGUAGES
from hub.services import api_tokens, catalogue, vocabulary
from hub.services import projects as project_service

bp = Blueprint("feeds", __name__)
FEED_SIZE = 50
SEARCH_PAGES = 4  # of FEED_SIZE matches each, read at most for a search feed
ATOM = "application/atom+xml; charset=utf-8"


@bp.app_context_processor
def _feed_of_page() -> dict:
    """Let every page name its feed (``<link rel="alternate">``), when it has one."""
    return {"feed_alternate": atom.alternate}


def _reader() -> Any:
    """Return whom the feed reads as: the feed token's audience, else an anonymous reader."""
    secret = request.args.get("token")
    if not secret:
        return None
    token = api_tokens.authenticate(secret, kinds=("feed",))
    if token is None:
        abort(make_response(render_error(
            404, _("This feed address no longer works. Make a new one under My account → API tokens."))))
    return api_tokens.reader_of(token)


def _answer(body: bytes, *, personal: bool):
    response = current_app.response_class(body, mimetype="application/atom+xml")
    response.content_type = ATOM
    response.headers["Cache-Control"] = "private, no-cache" if personal else "no-cache"
    response.vary.update(("Accept-Language", "Cookie"))
    return conditional(response)


def _feed_title(*parts: str) -> str:
    return " · ".join([*parts, current_app.config["SITE_NAME"] or _("Practice Exchange Hub")])


@bp.get("/notes.atom")
@public
def notes():
    """Feed the notes changed here last, newest change first, optionally of one topic, project or language."""
    reader = _reader()
    args = {k: (request.args.get(k) or "")[:64] or None for k in atom.FEED_FILTERS}
    if args["language"] == "zh":
        args["language"] = "zh_Hans"
    if args["language"] not in (None, *LANGUAGES):
        abort(404)
    filters = catalogue.NoteFilters(topic=args["topic"], project=args["project"], language=args["language"])
    # Newest change here first (catalogue.CHANGED), not newest publication: readers only look at the
    # top of a feed, so a note published here today must be there, though its origin published it
    # last month (a partner hub's note approved now, a backfill) or it was published again.
    page = catalogue.notes_after(reader, filters=filters, order=catalogue.CHANGED, limit=FEED_SIZE)
    title, page_url = _describe(filters)
    feed_id = public_url("feeds.notes", **{k: v for k, v in args.items() if v})
    body = atom.render(page.notes, title=title, page_url=page_url, feed_id=feed_id)
    return _answer(body, personal=reader is not None)


def _describe(filters: catalogue.NoteFilters) -> tuple[str, str]:
    """Return the feed's title and the page it mirrors."""
    locale = str(get_locale())
    if filters.topic:
        term = vocabulary.by_slug("topic", filters.topic) or abort(404)
        return _feed_title(_("Notes on %(topic)s", topic=term.name(locale))), public_url("notes.index", topic=term.slug)
    if filters.project:
        project = project_service.by_slug(filters.project) or abort(404)
        return (_feed_title(_("Notes from %(project)s", project=project.name(locale))),
                public_url("main.project", slug=project.slug))
    if filters.language:
        name = "中文" if filters.language == "zh_Hans" else "English"
        return (_feed_title(_("Practice notes in %(language)s", language=name)),
                public_url("search.search", language=filters.language))
    return _feed_title(_("Practice notes")), public_url("notes.index")


@bp.get("/search.atom")
@public
def search():
    """Feed the newest notes a search finds (a saved search: the search page's parameters)."""
    reader = _reader()
    params = SearchParams.from_args(request.args)
    try:
        found = _newest_matches(params, reader)
    except search_index.SearchUnavailable:
        return render_error(503, _("Search is unavailable right now; try again later"))
    kept = params.args(sort=None)
    title = _feed_title(_("Search: %(query)s", query=params.text) if params.text else _("Search"))
    body = atom.render(found, title=title, page_url=public_url("search.search", **kept),
                       feed_id=public_url("feeds.search", **kept))
    return _answer(body, personal=reader is not None)


def _newest_matches(params: SearchParams, reader: Any) -> list:
    """Return the newest :data:`FEED_SIZE` matches ``reader`` may read, partners notes included for a feed address.

    Newest by publication, the order the index keeps: a saved search asks what was published on a
    subject. A match published before the reader's last poll still shows as an entry they lack
    (readers take entries by id), and its ``updated`` is when this hub last changed it.

    A feed shows notes and nothing else (no count, no facets), so it searches uncounted: the
    index holds no finer mark than public or not, and the database keeps what the reader may read.
    Pages of matches the reader may not read are skipped, a few at most.
    """
    found: list = []
    for page in range(1, SEARCH_PAGES + 1):
        result = search_index.search(params.text, viewer=reader, filters=params.filters, page=page,
                                     per_page=FEED_SIZE, sort="newest", expand=params.expand, counted=False)
        found += result.notes
        if len(found) >= FEED_SIZE or page * FEED_SIZE >= result.total:
            break
    return found[:FEED_SIZE]
