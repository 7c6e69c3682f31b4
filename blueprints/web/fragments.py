"""Rendered fragments of pages (and small facts behind them), cached in each web process.

A fragment's key is what its template or view names (a note's id, the list page asked for) and,
always:

- the content version (:mod:`hub.content_version`), read once per request: a change readers may
  see, made through any process on any node, changes it in the same transaction, so every
  process stops using older entries at once; nothing is deleted to invalidate an entry;
- the reader's language and time zone;
- the audience: ``anonymous``, or the signed-in person's role. Which published notes a reader
  may see depends on nothing else, so readers who may see different notes never share an entry,
  and a fragment may show what the role may do. What depends on the person (their own marks,
  whether they wrote the note) stays outside the fragment or goes into its key;
- the static files' sizes and modification times: pages name the stylesheet and scripts by their
  content hash, so a changed file must not leave pages pointing at its old copy.

Only published notes are rendered into shared fragments; a draft is seen by its author and the
moderators and rendered every time. A fragment holding a form stores a placeholder where the
request's CSRF token was and is served with the token of the request it is served to.

In a template: ``{% cache "note", note.id %}…{% endcache %}``. In a view: :func:`memo` for data (a
few ids), :func:`deferred` for what only a miss needs (the queries behind a cached list).

A view whose page is made of such fragments is decorated with :func:`page`: it reads the content
version before anything else (so everything it shows is as new as the version or newer), reads
without a transaction on PostgreSQL (no BEGIN and ROLLBACK round trips; it must not write), and
serves anonymous readers the whole page from the cache when the view said it may be shared.

Signed-in readers get whole pages too, kept for their role, where the view says so
(``members=``): the parts of such a page that are each reader's own (their menu, a follow
button) are left as holes, named in the template with ``{{ personal("menu") }}``, and filled
for each reader when the page is served (each part cached per person where it can be); what
else of their own a page shows (their comments and marks on a note) joins the page's key.
"""
from __future__ import annotations

import functools
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable
from typing import Any

from flask import Flask, current_app, g, request, session
from flask_babel import get_locale, get_timezone
from flask_login import current_user
from flask_wtf.csrf import generate_csrf
from jinja2 import nodes
from jinja2.ext import Extension
from markupsafe import Markup

import sqlalchemy as sa
from sqlalchemy.orm import Session

from hub import content_version
from hub.extensions import db

EXTENSION = "hub.fragments"
CSRF_PLACEHOLDER = "\x00csrf-token\x00"
READ_ONLY = "hub.fragments.read_only"
VERSION_WANTED = "hub_version_wanted"  # a page asked the log-in lookup to read the content version too
VERSION_READ = "hub_version_read"  # what it read
STATIC_CHECK_SECONDS = 1.0
MEMBERS_PAGE = "hub_members_page"  # a page being rendered to be kept for every member of a role
PERSONAL_PARTS: dict[str, Callable[..., Markup]] = {}  # the parts of pages that are each reader's own


class FragmentStore:
    """A bounded map of keys to cached values, least recently used out first; safe across threads."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.size = 0
        self.version: str | None = None
        self.entries: OrderedDict[tuple, tuple[Any, int]] = OrderedDict()
        self.lock = threading.Lock()
        self.hits = self.misses = 0
        self.static_files, self.static_checked = 0, -STATIC_CHECK_SECONDS  # see _static_files

    def get(self, key: tuple) -> Any:
        """Return the value kept under ``key``, or None."""
        with self.lock:
            entry = self.entries.get(key)
            if entry is None:
                self.misses += 1
                return None
            self.hits += 1
            self.entries.move_to_end(key)
            return entry[0]

    def put(self, key: tuple, value: Any, size: int) -> None:
        """Keep ``value`` under ``key``, dropping the least recently used entries beyond the budget."""
        if size > self.max_bytes:
            return
        with self.lock:
            old = self.entries.pop(key, None)
            if old is not None:
                self.size -= old[1]
            self.entries[key] = (value, size)
            self.size += size
            while self.size > self.max_bytes:
                _key, (_value, dropped) = self.entries.popitem(last=False)
                self.size -= dropped

    def clear(self) -> None:
        """Forget every entry."""
        with self.lock:
            self.entries.clear()
            self.size = 0

    def seen_version(self, version: str) -> None:
        """Forget every entry when the content version moves on: none of them can be asked for again."""
        with self.lock:
            if version != self.version:
                self.version = version
                self.entries.clear()
                self.size = 0


def _store() -> FragmentStore:
    return current_app.extensions[EXTENSION]


def audience() -> str:
    """Return the audience part of every key: ``anonymous``, or the signed-in person's role."""
    return str(current_user.role) if current_user.is_authenticated else "anonymous"


def _static_files() -> int:
    """Return a number that changes when a file of the static folder changes (pages name them by content hash).

    The folder is looked at once a second at most (a dozen system calls each time): files
    change when the hub is deployed or a developer edits one, not between two requests.
    """
    store = _store()
    now = time.monotonic()
    if now - store.static_checked > STATIC_CHECK_SECONDS:
        folder = current_app.static_folder
        store.static_files = 0 if not folder or not os.path.isdir(folder) else hash(tuple(sorted(
            (entry.name, entry.stat().st_mtime_ns, entry.stat().st_size)
            for entry in os.scandir(folder) if entry.is_file())))
        store.static_checked = now
    return store.static_files


def _context() -> tuple[str, str, str, str, int]:
    """Return the parts every key of this request ends with (the content version is read once per request)."""
    found = g.get("fragment_context")
    if found is None:
        who = audience()  # first: a page's signed-in reader may read the version beside their log-in session
        version = g.pop(VERSION_READ, None) or content_version.current()
        _store().seen_version(version)
        found = g.fragment_context = (version, str(get_locale()), str(get_timezone()), who, _static_files())
    return found


def columns_beside_user() -> tuple:
    """Return what the log-in lookup should read in its statement: the content version, when a page asked for it."""
    return (content_version.column(),) if g.get(VERSION_WANTED) else ()


def read_beside_user(values: tuple) -> None:
    """Keep what the log-in lookup read beside the user for :func:`_context`."""
    if values and g.get(VERSION_WANTED):
        setattr(g, VERSION_READ, values[0] or "0")


def _csrf_token() -> str | None:
    """Return the CSRF token made for this request, if a form asked for one."""
    return g.get(current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token"))


def fragment(parts: tuple[Hashable, ...], render: Callable[[], str]) -> Markup:
    """Return the HTML ``render`` makes for ``parts`` in this request's context, rendering it once per key."""
    key = ("html", *parts, *_context())
    store = _store()
    text = store.get(key)
    if text is None:
        g.hub_fragment_depth = g.get("hub_fragment_depth", 0) + 1
        try:
            text = str(render())
        finally:
            g.hub_fragment_depth -= 1
        token = _csrf_token()
        if token:  # a form inside: the next reader gets their own token, never this one
            text = text.replace(token, CSRF_PLACEHOLDER)
        store.put(key, text, len(text))
    if CSRF_PLACEHOLDER in text:
        text = text.replace(CSRF_PLACEHOLDER, generate_csrf())
    return Markup(text)


def share_page(shared: bool = True, *, members: bool | None = None) -> None:
    """Let a :func:`page` view's page be kept whole for anonymous readers (a note's: only when it is published).

    ``members``: whether this page may be kept whole for every member of the reader's role (a
    note's: only when it is published; a draft's page is its author's and the moderators').
    """
    g.share_page = shared
    if members is not None:
        g.share_members = members


def personal_part(name: str, render: Callable[..., Markup]) -> None:
    """Name a part of pages that is each reader's own (the menu, a follow button): see :func:`personal`."""
    PERSONAL_PARTS[name] = render


def _hole(number: int) -> str:
    return f"\x00part:{number}\x00"


def personal(name: str, *args: Hashable) -> Markup:
    """Return the reader's own ``name`` part (``render(*args)``); in a page kept for a role, a hole it fills.

    The page keeps, beside its text, which part and arguments fill each hole. NUL never reaches
    a page from content (requests holding it are refused, PostgreSQL cannot store it), so a hole
    cannot be forged by what readers write.
    """
    if g.get("hub_fragment_depth"):
        raise RuntimeError(f"the reader's own part {name!r} inside a cached fragment would be shown to others")
    parts = g.get(MEMBERS_PAGE)
    if parts is not None:
        parts.append((name, args))
        return Markup(_hole(len(parts) - 1))
    return PERSONAL_PARTS[name](*args)


def _served(text: str, parts: tuple = ()) -> str:
    """Return a kept page for this request: its holes filled with the reader's own parts, and their form token."""
    for number, (name, args) in enumerate(parts):
        text = text.replace(_hole(number), str(PERSONAL_PARTS[name](*args)))
    if CSRF_PLACEHOLDER in text:
        text = text.replace(CSRF_PLACEHOLDER, generate_csrf())
    return text


def page(name: str, *, args: Iterable[str] = (), shared: bool = False,
         members: bool | Callable[[], Hashable | None] = False,
         vary: Callable[[], Hashable] | None = None) -> Callable:
    """Decorate a view whose page is made of cached fragments (see the module's docstring).

    ``args``: the query-string arguments the page depends on; a request with others (or with
    messages waiting to be flashed, or from a signed-in person) is never served a whole page.
    ``shared``: every page of the view may be kept whole (else the view calls :func:`share_page`).
    ``members``: a signed-in reader's page, apart from the parts that are their own (the menu, see
    :func:`personal`) and form tokens, is the same for every member of their role: it is kept
    whole for the role, and each reader gets it with their own parts (the view may say otherwise
    for one page with :func:`share_page`). A function instead of True returns what else of the
    reader's own the page shows (it joins the key), or None when the page is theirs alone and is
    never kept; it runs before the view, so it reads only what :func:`memo` keeps.
    ``vary``: what else a whole page depends on besides the content version (e.g. the search
    index's commit, which follows the database a moment later).
    """
    allowed = frozenset(args) | {"lang"}

    def decorator(view: Callable) -> Callable:
        @functools.wraps(view)
        def wrapper(*view_args: Any, **view_kwargs: Any) -> Any:
            first = not db.session().in_transaction()  # nothing has been read in this request yet
            member = "sid" in session  # only a log-in session signs a page's reader in
            if member:
                _read_only()
                if first and "_login_user" not in g:
                    # The signed-in reader's log-in lookup is the request's first statement: it reads the
                    # content version too, so that everything read after it is as new or newer.
                    setattr(g, VERSION_WANTED, True)
            context = _context()  # the version first: everything read after it is as new or newer
            signed_in = current_user.is_authenticated
            own = None  # what of a signed-in reader's own the page shows, when it may be kept for their role
            if signed_in and "_flashes" not in session and members:
                own = members() if callable(members) else ()
            if (signed_in and own is None) or "_flashes" in session or not set(request.args) <= allowed:
                _read_only()
                return view(*view_args, **view_kwargs)
            key = ("page", name, request.path, tuple(sorted(request.args.items(multi=True))),
                   vary() if vary else None, *context, own)  # the context holds the audience: role or anonymous
            store = _store()
            text = store.get(key)
            if text is not None:
                # A member's page gets their own parts; an anonymous reader's is whole (and used no session).
                return _served(*text) if signed_in else text
            _read_only()
            if signed_in:
                return _members_page(key, view, view_args, view_kwargs)
            g.share_page = shared
            answer = view(*view_args, **view_kwargs)
            if isinstance(answer, str) and g.share_page and not _csrf_token():
                store.put(key, answer, len(answer))
            return answer
        return wrapper
    return decorator


def _members_page(key: tuple, view: Callable, view_args: tuple, view_kwargs: dict) -> Any:
    """Render a page for every member of the reader's role (keeping it unless the view said no); serve it to this one."""
    g.share_members = True
    parts: list[tuple[str, tuple]] = []
    setattr(g, MEMBERS_PAGE, parts)
    try:
        answer = view(*view_args, **view_kwargs)
    finally:
        setattr(g, MEMBERS_PAGE, None)
    if isinstance(answer, str):
        token = _csrf_token()
        kept = answer.replace(token, CSRF_PLACEHOLDER) if token else answer
        if g.share_members:
            _store().put(key, (kept, tuple(parts)), len(kept))
        return _served(kept, tuple(parts))
    response = current_app.make_response(answer)  # not a page to keep; holes, if any, are filled all the same
    if response.mimetype == "text/html" and not response.direct_passthrough:
        response.set_data(_served(response.get_data(as_text=True), tuple(parts)))
    return response


def _read_only() -> None:
    """On PostgreSQL, let this request read without a transaction (each statement sees what is committed)."""
    db_session = db.session()
    if db.engine.dialect.name == "postgresql" and not db_session.in_transaction():
        db_session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
        db_session.info[READ_ONLY] = True


@sa.event.listens_for(Session, "before_flush")
def _refuse_writes(db_session: Session, _context: Any, _instances: Any) -> None:
    """A page that reads without a transaction must not write: it would not be atomic."""
    if db_session.info.get(READ_ONLY):
        raise RuntimeError("a page view decorated with fragments.page tried to write")


def memo(name: str, *parts: Hashable, compute: Callable[[], Any], size: int = 256) -> Any:
    """Return ``compute()`` for ``name`` and ``parts`` in this request's context, computing it once per key.

    For small plain data (ids, counts), never ORM objects: they belong to one request's session.
    """
    key = ("data", name, *parts, *_context())
    store = _store()
    value = store.get(key)
    if value is None:
        value = compute()
        store.put(key, value, size)
    return value


class Deferred:
    """A value computed on first use, so that what only a cache miss needs costs nothing on a hit."""

    __slots__ = ("_compute", "_value", "_done")

    def __init__(self, compute: Callable[[], Any]) -> None:
        self._compute, self._value, self._done = compute, None, False

    def value(self) -> Any:
        """Return the value, computing it on the first call."""
        if not self._done:
            self._value, self._done = self._compute(), True
        return self._value

    def __getattr__(self, name: str) -> Any:
        return getattr(self.value(), name)

    def __getitem__(self, key: Any) -> Any:
        return self.value()[key]

    def __iter__(self):
        return iter(self.value())

    def __len__(self) -> int:
        return len(self.value())

    def __bool__(self) -> bool:
        return bool(self.value())

    def __contains__(self, item: Any) -> bool:
        return item in self.value()


def deferred(compute: Callable[..., Any], *args: Any, **kwargs: Any) -> Deferred:
    """Return ``compute(*args, **kwargs)`` as a :class:`Deferred`: run only if a template uses it."""
    return Deferred(lambda: compute(*args, **kwargs))


class CacheExtension(Extension):
    """``{% cache "name", part, … [when condition] %}…{% endcache %}``: the body rendered once per key.

    See :func:`fragment`. With ``when``, the body is cached only when the condition holds (a
    note's page: only when the note is published), and rendered every time otherwise.
    """

    tags = {"cache"}

    def parse(self, parser):
        """Read the key's parts, the condition and the body up to ``endcache``."""
        lineno = next(parser.stream).lineno
        parts = [parser.parse_expression()]
        while parser.stream.skip_if("comma"):
            parts.append(parser.parse_expression())
        condition = parser.parse_expression() if parser.stream.skip_if("name:when") else nodes.Const(True)
        body = parser.parse_statements(("name:endcache",), drop_needle=True)
        call = self.call_method("_render", [nodes.Tuple(parts, "load"), condition])
        return nodes.CallBlock(call, [], [], body).set_lineno(lineno)

    def _render(self, parts: tuple, shared: bool, caller: Callable[[], str]) -> Markup:
        return fragment(parts, caller) if shared else Markup(caller())


def init_app(app: Flask) -> None:
    """Give the app its fragment store (``FRAGMENT_CACHE_MB`` per process) and the ``cache`` tag."""
    app.extensions[EXTENSION] = FragmentStore(int(float(app.config["FRAGMENT_CACHE_MB"]) * (1 << 20)))
    app.jinja_env.add_extension(CacheExtension)
    app.jinja_env.globals["personal"] = personal
