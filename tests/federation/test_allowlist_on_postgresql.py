"""What waits for a hub off the allow-list, with real workers on PostgreSQL: two nodes' workers (``flask hub worker``)
share the suite's PostgreSQL database, the partner hubs are fake hubs on 127.0.0.1
(tests.federation.fixtures.DocumentServer) whose received activities the test reads, and the admin and the moderator
act through the pages and services of the test's own app on the same database, while the workers run.

- A moderator's cut of a comment written on a hub off the list waits for it (``held``): not sent, not lost, and
  sent once when the hub is put back on the list, though two workers run.
- A hub taken off the list while the worker is in the middle of delivering to it (its inbox is slow) gets nothing
  but withdrawals from then on; what was due either arrived or waits for it, and goes (once) when it is listed again.
- Workers restarted in open mode send what was held, once, whichever of them sends.
"""
from __future__ import annotations

import contextlib
import json
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from hub import claims
from hub.extensions import db
from hub.federation import delivery, inbox
from hub.models import Comment, CommentThread
from hub.models.federation import Delivery
from hub.services import discussion
from hub.text import html_text
from tests.federation.fixtures import DocumentServer
from tests.federation.test_allowlist_relisting import _put_back_on_the_list
from tests.federation.test_conversation_inbox import _comment, _consume, _send_all
from tests.federation.test_conversation_inbox import _take_off_the_allow_list as _take_off_the_list
from tests.helpers import login, post_form
from tests.processes import node_env, start, wait_for

pytestmark = pytest.mark.postgres

CUT = "We post kits. Our van waits ."  # "at gate 7 of the Lotus market" cut out: the marker takes its place
WITHDRAWALS = ("Delete", "Undo", "Reject")


@pytest.fixture
def app(postgres_app):
    """The hub as its admin and moderators use it: the same PostgreSQL database as the workers."""
    return postgres_app


@pytest.fixture
def servers() -> Iterator[tuple[DocumentServer, DocumentServer]]:
    """Two partner hubs on 127.0.0.1: the one the comments are written on, and another that has them."""
    made = DocumentServer(), DocumentServer()
    yield made
    for server in made:
        server.close()


def _partner(make_peer, server: DocumentServer, **options):
    return make_peer(server.base.removeprefix("http://"), scheme="http", they_follow=True, **options)


def _conversation(app, client, make_peer, publish, servers, *, comments: int = 1):
    """Our public note, ``comments`` comments on it written on the writer's hub, shown here and sent to both hubs
    (as if sent earlier). Return the writer's hub and the comments."""
    writer_server, reader_server = servers
    note = publish("public")
    writer = _partner(make_peer, writer_server, trust="publish")
    _partner(make_peer, reader_server)
    _consume(app)
    _send_all()
    for number in range(1, comments + 1):
        assert writer.post(client, writer.activity("Create", _comment(
            writer, note.id, number=number,
            content=f"<p>We post kits. Our van waits at gate {number} of the Lotus market.</p>"))).status_code == 202
    inbox.process_pending(app)
    found = list(db.session.scalars(sa.select(Comment).where(Comment.note_id == note.id).order_by(Comment.id)))
    assert [c.state for c in found] == ["published"] * comments
    _consume(app)
    _send_all()  # the reader's hub has the comments
    return writer, found


@contextlib.contextmanager
def _workers(tmp_path: Path, url: str, *names: str, **settings: str) -> Iterator[dict]:
    """Run one worker per node name on the database at ``url`` (settings as ``HUB_…`` variables); stop them after."""
    running = {}
    try:
        for name in names:
            running[name] = start(["hub", "worker"], {**node_env(tmp_path / name, url, name), **settings})
        yield running
    finally:
        for process in running.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in running.values():
            process.communicate(timeout=30)


def _remote_id(comment: Comment) -> str:
    """Return the id of a partner member's comment on the hub it was written on."""
    return db.session.get(CommentThread, comment.id).remote_id


def _carried(server: DocumentServer, comment: Comment) -> list[str]:
    """Return the texts of ``comment`` that ``server`` was sent (one per activity bringing it, in order)."""
    texts, remote_id = [], _remote_id(comment)
    for activity in server.activities():
        obj = activity.get("object")
        if isinstance(obj, dict) and obj.get("id") == remote_id and activity["type"] not in WITHDRAWALS:
            texts.append(html_text(obj.get("content", "")))
    return texts


def _states(comment: Comment, writer) -> list[str]:
    """Return the states of the deliveries of ``comment``'s versions to the writer's hub."""
    return [d.state for d in db.session.scalars(sa.select(Delivery).where(
        Delivery.peer_id == writer.row.id, Delivery.inbox_url == delivery.inbox_of(writer.row)).order_by(Delivery.id))
        if d.activity.get("type") not in WITHDRAWALS and _remote_id(comment) in json.dumps(d.activity)]


def _rounds(seconds: float = 1.5) -> None:
    """Let the workers (polling every 0.2 s) run some rounds."""
    time.sleep(seconds)
    db.session.rollback()


def test_a_cut_held_while_two_workers_run_is_neither_sent_nor_lost_and_goes_once_the_hub_is_listed_again(
        app, client, make_peer, publish, people, servers, tmp_path, postgres_database):
    writer_server, reader_server = servers
    writer, (comment,) = _conversation(app, client, make_peer, publish, servers)
    _take_off_the_list(app, people["admin"], writer)
    with _workers(tmp_path, postgres_database, "node-a", "node-b"):
        assert discussion.redact(comment, by=people["moderator"], body=CUT) is discussion.Reach.MARKED
        cut = html_text(comment.body_html)
        wait_for(lambda: _carried(reader_server, comment) == [cut], seconds=15, what="the other hub to get the cut")
        wait_for(lambda: _states(comment, writer) == ["held"], seconds=5, what="the cut to wait for the writer's hub")
        _rounds()
        assert _carried(writer_server, comment) == [] and _states(comment, writer) == ["held"]

        _put_back_on_the_list(people["admin"], writer)
        wait_for(lambda: _states(comment, writer) == ["sent"], seconds=10, what="the cut to go")
        _rounds()
        assert _carried(writer_server, comment) == [cut]  # once, though two workers run
        assert _carried(reader_server, comment) == [cut]


def test_a_hub_taken_off_the_allow_list_while_the_worker_delivers_to_it_then_gets_nothing_but_withdrawals(
        app, client, make_peer, publish, people, servers, tmp_path, postgres_database):
    """The worker sends an inbox's deliveries one after another; the admin takes the hub off the list while the
    first of three cuts is on the wire (its inbox is slow). That one arrives; none after it, until the hub is listed
    again, and then the other two arrive, each once: none is dropped, none sent twice."""
    writer_server, _reader_server = servers
    writer, comments = _conversation(app, client, make_peer, publish, servers, comments=3)
    for comment in comments:
        assert discussion.redact(comment, by=people["moderator"], body=CUT) is discussion.Reach.MARKED
    cuts = [html_text(comment.body_html) for comment in comments]
    _consume(app)  # the three cuts wait for the writer's hub, to go in one batch
    admin = app.test_client()
    assert login(admin, people["admin"].username).status_code == 302
    page = f"/admin/partners/{writer.row.id}"
    writer_server.status["delay"] = 2.5
    with _workers(tmp_path, postgres_database, "node-a", "node-b"):
        wait_for(lambda: writer_server.begun, seconds=15, what="the first cut on the wire")
        assert post_form(admin, page + "/allowlist/off", {}, form_url=page).status_code == 302
        unlisted = time.monotonic()
        wait_for(lambda: writer_server.posts and all(_states(c, writer)[-1:] in (["sent"], ["held"]) for c in comments),
                 seconds=10, what="the first cut to arrive, and each cut sent or waiting for the hub")
        _rounds(1.0)
        after = [json.loads(body) for at, body in writer_server.begun if at > unlisted]
        assert [a["type"] for a in after if a["type"] not in WITHDRAWALS] == [], "sent to a hub off the allow-list"
        # What arrived is recorded as sent; the others wait for the hub (none dropped, none counted as failed).
        assert [_carried(writer_server, c) for c in comments] == [cuts[0:1], [], []]
        assert [_states(c, writer) for c in comments] == [["sent"], ["held"], ["held"]]

        writer_server.status["delay"] = 0.0
        assert post_form(admin, page + "/allowlist/on", {}, form_url=page).status_code == 302
        wait_for(lambda: all(_states(c, writer) == ["sent"] for c in comments), seconds=10, what="the cuts to go")
        _rounds()
        assert [_carried(writer_server, c) for c in comments] == [[cut] for cut in cuts]


def test_workers_restarted_in_open_mode_send_what_was_held_once_whichever_of_them_sends(
        app, client, make_peer, publish, people, servers, tmp_path, postgres_database):
    """The setting is read at start: each worker, the first time it sends, queues again what was held. The one
    that sends stops; the other takes over and sends (a new note), and so queues again what is held: the cut still
    arrives once."""
    writer_server, reader_server = servers
    writer, (comment,) = _conversation(app, client, make_peer, publish, servers)
    _take_off_the_list(app, people["admin"], writer)
    assert discussion.redact(comment, by=people["moderator"], body=CUT) is discussion.Reach.MARKED
    _consume(app)
    assert _states(comment, writer) == ["held"]
    with _workers(tmp_path, postgres_database, "node-a", "node-b", HUB_FEDERATION_MODE="open") as running:
        wait_for(lambda: _states(comment, writer) == ["sent"], seconds=10, what="the held cut to go")
        sender = claims.remaining("federation-send")[0]
        running[sender].send_signal(signal.SIGTERM)
        running[sender].communicate(timeout=30)
        other = next(name for name in running if name != sender)
        wait_for(lambda: (claims.remaining("federation-send") or ("",))[0] == other, seconds=10,
                 what="the other worker to take the sending over")
        note = publish("public", title="Later")
        wait_for(lambda: any(a["type"] == "Create" and a["object"]["id"].endswith(f"/ap/notes/{note.id}")
                             for a in reader_server.activities()), seconds=10, what="the other worker to send")
        _rounds()
        assert _carried(writer_server, comment) == [html_text(comment.body_html)]
        assert _states(comment, writer) == ["sent"]
