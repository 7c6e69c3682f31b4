"""Fixtures for federation tests: notes in each state and visibility, and fake peer hubs with keys."""
from __future__ import annotations

import functools
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from hub.extensions import db
from hub.federation import keys
from hub.federation.signatures import sign_request
from hub.models.federation import PeerHub
from hub.models.note import Note
from hub.models.user import Role
from hub.services import notes, vocabulary

AS = "https://www.w3.org/ns/activitystreams"
PUBLIC = AS + "#Public"
INBOX_URL = "http://hub.test/inbox"


@functools.lru_cache(maxsize=8)
def keypair(n: int) -> tuple[bytes, bytes]:
    """Return the n-th test key pair (generated once per session: RSA keys are slow to make)."""
    return keys.generate_keypair()


@dataclass
class FakePeer:
    """Another hub as the tests play it: an actor id, a key, and a way to sign POSTs."""

    base: str
    private_pem: bytes
    public_pem: bytes
    row: PeerHub | None = None
    sent: list[dict[str, Any]] = field(default_factory=list)

    @property
    def actor_id(self) -> str:
        return self.base + "/actor"

    @property
    def key_id(self) -> str:
        return self.actor_id + "#main-key"

    def activity(self, kind: str, obj: Any, **extra: Any) -> dict[str, Any]:
        """Build an activity by this peer with a fresh id."""
        return {"@context": AS, "id": f"{self.base}/activities/{uuid.uuid4().hex}", "type": kind,
                "actor": self.actor_id, "object": obj, **extra}

    def article(self, number: int = 1, **fields: Any) -> dict[str, Any]:
        """Build an Article as a partner hub would send it."""
        article = {"id": f"{self.base}/ap/notes/{number}", "type": "Article", "attributedTo": self.actor_id,
                   "to": [PUBLIC], "cc": [self.base + "/followers"], "name": f"Partner note {number}",
                   "summary": "What a partner learned about outreach.",
                   "content": "<p>We met people where they are.</p>",
                   "contentMap": {"en": "<p>We met people where they are.</p>"},
                   "url": f"{self.base}/notes/{number}", "published": "2026-01-02T03:04:05Z",
                   "updated": "2026-01-02T03:04:05Z", "peh:topics": ["outreach"],
                   "peh:authorPseudonym": "Partner P"}
        article.update(fields)
        return article

    def signed(self, activity: dict[str, Any] | bytes, *, url: str = INBOX_URL,
               content_type: str = "application/activity+json", now: Any = None,
               scheme: str = "cavage") -> tuple[bytes, dict[str, str]]:
        """Return (body, headers) of a correctly signed POST of ``activity`` to ``url``."""
        body = activity if isinstance(activity, bytes) else json.dumps(activity).encode()
        headers = {"Content-Type": content_type}
        headers.update(sign_request(method="POST", url=url, headers=headers, body=body, key_id=self.key_id,
                                    private_key_pem=self.private_pem, now=now, scheme=scheme))
        return body, headers

    def post(self, client, activity: dict[str, Any] | bytes, **kwargs: Any):
        """POST a signed activity to the hub's shared inbox through the test client."""
        body, headers = self.signed(activity, **kwargs)
        return client.post("/inbox", data=body, headers=headers, base_url="http://hub.test")


@pytest.fixture(autouse=True)
def instance_key(tmp_path):
    """Give each test hub a ready instance key: making an RSA key for every test is slow."""
    path = tmp_path / "instance" / "federation_key.pem"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(keypair(0)[0])
    path.chmod(0o600)


@pytest.fixture
def make_peer(app) -> Callable[..., FakePeer]:
    """Return a factory of fake peers, registered as PeerHub rows with their keys."""
    counter = iter(range(1, 8))

    def factory(host: str = "peer.example", *, partner: bool = True, trust: str = "moderate",
                they_follow: bool = False, we_follow: str = "none", register: bool = True,
                scheme: str = "https") -> FakePeer:
        private_pem, public_pem = keypair(next(counter))
        peer = FakePeer(f"{scheme}://{host}", private_pem, public_pem)
        if register:
            peer.row = PeerHub(actor_id=peer.actor_id, base_url=peer.base, name=host, inbox_url=peer.base + "/inbox",
                               shared_inbox_url=peer.base + "/inbox", outbox_url=peer.base + "/outbox",
                               key_id=peer.key_id, public_key_pem=public_pem.decode(), partner=partner,
                               trust=trust, they_follow=they_follow, we_follow=we_follow)
            db.session.add(peer.row)
            db.session.commit()
        return peer

    return factory


@pytest.fixture
def people(app, make_user, project):
    """A contributor, a moderator and an admin, with the seed vocabulary."""
    vocabulary.seed()
    return {"author": make_user("lee", role=Role.CONTRIBUTOR, pseudonym="小李", project=project),
            "moderator": make_user("moder", role=Role.MODERATOR, pseudonym="山风", project=project),
            "admin": make_user("ada", role=Role.ADMIN, pseudonym="Ada A", project=project)}


@pytest.fixture
def publish(people) -> Callable[..., Note]:
    """Return a function that writes, submits and approves a note: publish(visibility="public")."""
    def make(visibility: str = "public", *, title: str = "外展的经验", language: str = "zh_Hans",
             body: str = "我们在社区开展**外展**。", topics: tuple[str, ...] = ("outreach",)) -> Note:
        from hub.models import Term
        import sqlalchemy as sa

        term_ids = list(db.session.scalars(sa.select(Term.id).where(Term.slug.in_(topics))))
        data = notes.NoteInput(title=title, summary="一句话摘要。", body=body, language=language,
                               visibility=visibility, place="成都", province="四川", term_ids=term_ids,
                               tags=["peer support"])
        note = notes.create_draft(author=people["author"], data=data)
        notes.submit(note, by=people["author"], confirm_privacy=True)
        return notes.approve(note, by=people["moderator"])
    return make


class DocumentServer:
    """A tiny HTTP server on 127.0.0.1 that serves JSON documents and records POSTs (a fake peer)."""

    def __init__(self) -> None:
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        documents: dict[str, Any] = {}
        gets: list[str] = []
        posts: list[tuple[str, dict[str, str], bytes]] = []
        # (time.monotonic() when the request was read, its body): a POST as it begins, before ``delay``.
        begun: list[tuple[float, bytes]] = []
        # "refuse_rfc9421": answer 401 to RFC 9421 signatures, as servers that only read draft-cavage do.
        status: dict[str, Any] = {"post": 202, "delay": 0.0, "refuse_rfc9421": False}
        # path -> threading.Event: the next GET of that path waits until the test sets the event.
        held: dict[str, Any] = {}

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                """Keep test output quiet."""

            def do_GET(self) -> None:
                """Serve a stored document, or 404."""
                gets.append(self.path)
                if self.path in held:
                    held.pop(self.path).wait(timeout=60)
                document = documents.get(self.path)
                body = json.dumps(document).encode() if document is not None else b"{}"
                self.send_response(200 if document is not None else 404)
                self.send_header("Content-Type", "application/activity+json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self) -> None:
                """Record a POST and answer with the configured status."""
                import time

                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                begun.append((time.monotonic(), body))
                if status["delay"]:
                    time.sleep(status["delay"])
                headers = {k.lower(): v for k, v in self.headers.items()}
                posts.append((self.path, headers, body))
                refused = status["refuse_rfc9421"] and "signature-input" in headers
                self.send_response(401 if refused else status["post"])
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.documents, self.gets, self.posts, self.status, self.held = documents, gets, posts, status, held
        self.begun = begun
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def serve_actor(self, peer: FakePeer) -> None:
        """Publish ``peer``'s actor document (its base must be this server's)."""
        self.documents["/actor"] = {
            "@context": [AS], "id": peer.actor_id, "type": "Service", "preferredUsername": "hub",
            "inbox": peer.base + "/inbox", "outbox": peer.base + "/outbox",
            "endpoints": {"sharedInbox": peer.base + "/inbox"},
            "publicKey": {"id": peer.key_id, "owner": peer.actor_id, "publicKeyPem": peer.public_pem.decode()}}

    def activities(self) -> list[dict[str, Any]]:
        """Return the activities POSTed so far."""
        return [json.loads(body) for _path, _headers, body in self.posts]

    def close(self) -> None:
        """Stop serving."""
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def peer_server(app):
    """A fake peer hub on 127.0.0.1 (loopback allowed for this app)."""
    app.config["FEDERATION_ALLOW_LOOPBACK"] = True
    server = DocumentServer()
    yield server
    server.close()
