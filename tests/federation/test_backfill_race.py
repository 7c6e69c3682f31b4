"""`flask hub federation-backfill` and the worker read one hub's outbox: real processes, one reader at a time.

Hub C of conftest.py runs as ``flask hub serve`` (web server and worker); the command runs as its
own process on the same database. The followed hub is a fake on 127.0.0.1 whose outbox answers the
worker only when the test says so, so the command surely starts while the worker is reading.
"""
from __future__ import annotations

import subprocess
import sys
import threading
import time

import sqlalchemy as sa

from hub.extensions import db
from hub.models.audit import AuditEntry
from hub.models.federation import PeerHub
from hub.models.note import Note
from tests import spawn
from tests.federation.fixtures import DocumentServer, FakePeer, keypair
from tests.federation.hubs import ROOT, wait_for


def test_the_command_waits_for_the_worker_and_reports_what_each_stored(hubs):
    c = hubs["c"]
    server = DocumentServer()
    private_pem, public_pem = keypair(1)
    peer = FakePeer(server.base, private_pem, public_pem)
    server.documents["/outbox"] = {"type": "OrderedCollection", "orderedItems": [
        {"type": "Create", "actor": peer.actor_id, "object": peer.article(n)} for n in (3, 2, 1)]}
    released = threading.Event()
    server.held["/outbox"] = released  # the worker's read waits here, holding the hub
    try:
        with c.context():
            row = PeerHub(actor_id=peer.actor_id, base_url=server.base, name="Slow hub",
                          inbox_url=server.base + "/inbox", outbox_url=server.base + "/outbox", key_id=peer.key_id,
                          public_key_pem=public_pem.decode(), partner=True, trust="publish", we_follow="accepted")
            db.session.add(row)
            db.session.commit()
            peer_id = row.id
        wait_for(lambda: "/outbox" in server.gets, what="C's worker to read the outbox", hubs=[c])
        command = spawn.popen([sys.executable, "-m", "flask", "hub", "federation-backfill", "--as", "admin"],
                              cwd=ROOT, env=c.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)

        def command_waits() -> bool:
            with c.context():
                return db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "partner.backfill",
                                                                     AuditEntry.target_id == peer_id)) is not None
        # A new process imports the hub first (seconds on a loaded machine): the bound is generous, not a timing.
        wait_for(command_waits, what="the command to start waiting", hubs=[c], timeout=90)
        released.set()  # it counted what was stored in the transaction that recorded its request
        out, err = command.communicate(timeout=60)
        assert command.returncode == 0, err.decode()[-2000:]
        assert (f"{server.base}: 0 notes added (3 more were stored by the worker, which was reading it at the "
                "same time).") in out.decode().splitlines()
        with c.context():
            stored = list(db.session.scalars(sa.select(Note.remote_id).where(Note.origin_peer_id == peer_id)))
            db.session.get(PeerHub, peer_id).we_follow = "none"  # C stops reading the fake once it is gone
            db.session.commit()
        assert sorted(stored) == sorted(f"{server.base}/ap/notes/{n}" for n in (1, 2, 3))
        assert server.gets.count("/outbox") == 2  # the worker's read, then the command's: one after the other
    finally:
        released.set()
        server.close()
