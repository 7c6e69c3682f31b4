"""Helpers for tests: acting as a browser would (CSRF tokens, forms, signing in), counting rows,
comparing a search index segment's arrays file with Whoosh's own postings, publishing notes directly."""
from __future__ import annotations

import contextlib
import re
import threading
from collections.abc import Callable, Iterator
from typing import Any

import sqlalchemy as sa
from flask.testing import FlaskClient

from hub.extensions import db

PASSWORD = "correct horse battery"
CSRF_RE = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


def csrf_token(client: FlaskClient, url: str = "/login") -> str:
    """Return a CSRF token from a form page, as a browser would get it."""
    page = client.get(url).get_data(as_text=True)
    match = CSRF_RE.search(page) or re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match, f"no CSRF token on {url}"
    return match.group(1)


def post_form(client: FlaskClient, url: str, data: dict, *, form_url: str | None = None, **kwargs):
    """Submit a form with a valid CSRF token taken from ``form_url`` (default: ``url``)."""
    token = csrf_token(client, form_url or url)
    return client.post(url, data={"csrf_token": token, **data}, **kwargs)


def login(client: FlaskClient, username: str, password: str = PASSWORD):
    """Sign ``username`` in through the login form."""
    return post_form(client, "/login", {"login": username, "password": password})


def sign_in(page, username: str, password: str = PASSWORD) -> None:
    """Sign ``username`` in through the log-in page in a Playwright ``page``, as a person would."""
    page.goto("/login")
    page.locator("#login").fill(username)
    page.locator("#password").fill(password)
    page.locator("form.stack [type=submit]").click()
    page.locator("form[action$='/logout']").wait_for(state="attached")


def approve_checked(note, *, by, **options):
    """Publish a submitted note as a moderator who ticked every privacy finding as checked."""
    from hub.services import notes, screening

    keys = [screening.key(finding) for finding in notes.privacy_findings(note)[1]]
    return notes.approve(note, by=by, checked=keys, **options)


@contextlib.contextmanager
def statements() -> Iterator[list[str]]:
    """Collect the SQL statements run on the hub's database inside the block (for tests that count queries)."""
    seen: list[str] = []

    def record(_conn, _cursor, statement, *_args) -> None:
        seen.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", record)


def count(model, *where) -> int:
    """Return how many rows of ``model`` match ``where``."""
    return db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))


def run_async(coroutine):
    """Run a coroutine to completion in a thread of its own.

    Playwright's sync API keeps an event loop running in the main thread for the whole
    session, and asyncio.run() refuses to start inside one.
    """
    import asyncio
    import concurrent.futures

    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result(timeout=60)


def whoosh_postings(segment, field_name: str, term: bytes):
    """Return Whoosh's own (documents, frequencies, positions or None) of a term in one segment."""
    from search_index.postings import RawPositions

    matcher = segment.postings(field_name, term)
    fmt = segment.schema[field_name].format
    docs, freqs, positions = [], [], []
    while matcher.is_active():
        docs.append(matcher.id())
        freqs.append(matcher.weight() / (fmt.field_boost or 1.0))
        if isinstance(fmt, RawPositions):
            positions.extend((matcher.id() << 32) | p for p in matcher.value_as("positions"))
        matcher.next()
    return docs, freqs, positions if isinstance(fmt, RawPositions) else None


def assert_arrays_match_blocks(segment, reference) -> int:
    """Compare every term of every field of a segment written by the hub's codec with ``reference``, a
    segment of the same documents written with Whoosh's own codec (its blocks): the arrays file, and
    Whoosh's matchers over the hub's segment (which read that file), hold the same postings as
    Whoosh's blocks. Return the terms seen."""
    from search_index.postings import segment_arrays

    arrays = segment_arrays(segment)
    assert arrays is not None
    seen = 0
    for field_name in reference.indexed_field_names():
        lexicon = list(reference.lexicon(field_name))
        assert list(segment.lexicon(field_name)) == lexicon
        assert arrays.field(field_name).terms() == lexicon
        for term in lexicon:
            docs, freqs, positions = whoosh_postings(reference, field_name, term)
            assert whoosh_postings(segment, field_name, term) == (docs, freqs, positions)
            found_docs, found_freqs = arrays.postings(field_name, term)
            assert found_docs.tolist() == docs
            assert found_freqs.tolist() == freqs
            if positions is not None:
                assert arrays.positions(field_name, term).tolist() == positions
            seen += 1
    return seen


def device_copy_key(username: str, note: int | str = "new") -> str:
    """The key under which the editor keeps ``username``'s copy of a note (``"new"``: an unsaved new
    note) on the device: each account has its own, so that on a shared phone no copy overwrites another's."""
    from hub.models.user import User

    user = db.session.scalar(sa.select(User).where(User.username == username))
    return f"hub-note-{user.id}-{note}"


def publish_directly(author, *, title: str, body: str, summary: str = "社区外展的经验。") -> int:
    """Publish a public note with its one event in a transaction of its own, as an import does (no
    review steps); return its id."""
    from hub import events
    from hub.models.base import utcnow
    from hub.models.note import Note

    note = Note(author=author, state="published", visibility="public", language="zh_Hans", title=title,
                summary=summary, body=body, body_html=f"<p>{body}</p>", published_at=utcnow())
    db.session.add(note)
    db.session.flush()
    events.record("note.published", subject_type="note", subject_id=note.id)
    db.session.commit()
    return note.id


def empty_database() -> None:
    """Drop every table of the app's database, Alembic's revision table too: as nobody ran a migration."""
    db.drop_all()
    with db.engine.begin() as connection:
        connection.execute(sa.text("DROP TABLE IF EXISTS alembic_version"))


def all_at_once(sends: list[Callable[[], Any]]) -> list:
    """Call each of ``sends`` in a thread of its own, all released at the same moment; return their answers.

    Each should use a test client of its own (with its own database connection): one client is not
    meant to be shared by threads.
    """
    start = threading.Barrier(len(sends))
    answers: list = [None] * len(sends)

    def run(index: int) -> None:
        start.wait(10)
        answers[index] = sends[index]()

    threads = [threading.Thread(target=run, args=(index,)) for index in range(len(sends))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return answers
