"""Fixtures of the federation tests (kept in fixtures.py so unit tests can import them too)."""
import pytest

from hub.federation import peers
from tests.federation.fixtures import instance_key, keypair, make_peer, peer_server, people, publish  # noqa: F401
from tests.federation.hubs import Hub, publish as publish_on, wait_for, we_follow


@pytest.fixture(scope="package")
def hubs(tmp_path_factory):
    """Start hubs A, B and C, make them follow each other, and stop them after the federation tests.

    Hub A runs in open mode (any hub may follow it) and has allow-listed B only; B and C run in
    the default allow-list mode and follow A; A follows B back. C trusts A to publish directly;
    B moderates A's notes. Shared by test_hubs.py and test_conversation.py, so the three
    processes start once; each test publishes its own notes and does not depend on the others.
    """
    root = tmp_path_factory.mktemp("hubs")
    a = Hub(root, "a", FEDERATION_MODE="open")
    b = Hub(root, "b")
    c = Hub(root, "c")
    everyone = [a, b, c]
    try:
        inits = [h.init_command() for h in everyone]
        for hub, process in zip(everyone, inits):
            _out, err = process.communicate(timeout=120)
            assert process.returncode == 0, err.decode()[-2000:]
        for hub in everyone:
            hub.seed_people()
            hub.start()
        early = publish_on(a, "Published before C followed")
        with a.context():
            peers.allow(b.base, by=a.user("admin"))
        with b.context():
            peers.follow(a.base, by=b.user("admin"))
        with c.context():
            peer = peers.follow(a.base, by=c.user("admin"))
            peers.set_trust(peer, "publish", by=c.user("admin"))
        wait_for(lambda: we_follow(b, a) == "accepted" and we_follow(c, a) == "accepted",
                 what="A to accept B and C", hubs=everyone)
        with a.context():
            peers.follow(b.base, by=a.user("admin"))
        wait_for(lambda: we_follow(a, b) == "accepted", what="B to accept A", hubs=everyone)
        yield {"a": a, "b": b, "c": c, "early": early}
    finally:
        for hub in everyone:
            hub.stop()
