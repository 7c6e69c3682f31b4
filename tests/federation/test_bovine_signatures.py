"""Interop with bovine, an independent HTTP Signatures implementation.

Both directions go over a real socket to a recording server on 127.0.0.1, so
the headers checked are the ones actually put on the wire: bovine's
SignedHttpClient (aiohttp) signs and our verify_request checks; our
sign_request plus SafeHttpClient sign and send, and bovine's
SignatureChecker (build_validate_http_signature_raw) checks.
"""
from __future__ import annotations

from tests.helpers import run_async

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar
from urllib.parse import urlsplit

import aiohttp
import pytest
from bovine.clients.signed_http import SignedHttpClient, legacy_digest_method_uppercase
from bovine.crypto import build_validate_http_signature_raw
from bovine.crypto.types import CryptographicIdentifier

from hub.federation import keys
from hub.federation.http import SafeHttpClient
from hub.federation.signatures import BadSignatureError, DigestMismatchError, sign_request, verify_request

ACTOR = "https://bovine.example/actor/alice"
KEY_ID = ACTOR + "#main-key"
ACTIVITY = {"@context": "https://www.w3.org/ns/activitystreams", "type": "Follow", "actor": ACTOR}


@dataclass(frozen=True)
class Captured:
    """One request as the server received it."""

    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes


class RecordingHandler(BaseHTTPRequestHandler):
    """Record every request and answer 202."""

    captured: ClassVar[list[Captured]] = []

    def log_message(self, *args: object) -> None:
        """Keep test output quiet."""

    def do_GET(self) -> None:
        """Record a GET."""
        self._record(b"")

    def do_POST(self) -> None:
        """Record a POST with its body."""
        self._record(self.rfile.read(int(self.headers.get("Content-Length", "0"))))

    def _record(self, body: bytes) -> None:
        """Store the raw request target, headers (lower-case names, as bovine expects) and body."""
        path, _, query = self.path.partition("?")
        headers = {name.lower(): value for name, value in self.headers.items()}
        self.captured.append(Captured(self.command, path, query, headers, body))
        self.send_response(202)
        self.send_header("Content-Length", "0")
        self.end_headers()


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    """Run the recording server on 127.0.0.1."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), RecordingHandler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def keypair() -> tuple[bytes, bytes]:
    """One RSA key pair (ours, in the format bovine loads too)."""
    return keys.generate_keypair()


def _last() -> Captured:
    """Return the most recently recorded request."""
    return RecordingHandler.captured[-1]


def _bovine_send(method: str, url: str, private_pem: bytes, body: str | None = None, digest_method=None) -> None:
    """Send a request signed by bovine's SignedHttpClient."""

    async def send() -> None:
        async with aiohttp.ClientSession() as session:
            client = SignedHttpClient(session, KEY_ID, private_pem.decode(), digest_method=digest_method)
            response = await (client.get(url) if method == "GET" else client.post(url, body or ""))
            await response.read()

    run_async(send())


def _our_verify(captured: Captured, public_pem: bytes):
    """Verify a recorded request with our implementation."""
    return verify_request(
        method=captured.method,
        path=captured.path,
        query=captured.query,
        headers=captured.headers,
        body=captured.body,
        fetch_public_key=lambda key_id: public_pem.decode() if key_id == KEY_ID else None,
    )


def _bovine_verify(captured: Captured, url: str, public_pem: bytes, body: bytes | None = None) -> str | None:
    """Verify a recorded request with bovine; return the controller or None."""

    async def retrieve(key_id: str) -> CryptographicIdentifier | None:
        return CryptographicIdentifier.from_pem(public_pem.decode(), ACTOR) if key_id == KEY_ID else None

    async def read_body() -> bytes:
        return captured.body if body is None else body

    validate = build_validate_http_signature_raw(retrieve)
    return run_async(validate(captured.method.lower(), url, captured.headers, read_body))


def _our_send(method: str, url: str, private_pem: bytes, body: bytes | None = None) -> None:
    """Sign with our sign_request and send with our SafeHttpClient."""
    headers = {"Content-Type": "application/activity+json"} if body is not None else {}
    headers |= sign_request(
        method=method, url=url, headers=headers, body=body, key_id=KEY_ID, private_key_pem=private_pem
    )
    client = SafeHttpClient(allow_loopback=True, total_timeout=5)
    if method == "GET":
        client.get(url, headers)
    else:
        client.post(url, body or b"", headers)


# --- bovine signs, we verify ------------------------------------------------------


@pytest.mark.parametrize("path", ["/actor/alice", "/outbox?page=true"])
def test_bovine_signed_get_verifies_here(base_url, keypair, path):
    _bovine_send("GET", base_url + path, keypair[0])
    captured = _last()
    assert "(request-target)" in captured.headers["signature"]
    result = _our_verify(captured, keypair[1])
    assert result.key_id == KEY_ID and result.actor_host == "bovine.example"


@pytest.mark.parametrize("digest_method", [None, legacy_digest_method_uppercase], ids=["sha-256", "SHA-256"])
def test_bovine_signed_post_verifies_here(base_url, keypair, digest_method):
    _bovine_send("POST", base_url + "/inbox", keypair[0], json.dumps(ACTIVITY), digest_method)
    captured = _last()
    assert "digest" in captured.headers
    assert _our_verify(captured, keypair[1]).key_id == KEY_ID


def test_bovine_signed_post_with_altered_body_fails_here(base_url, keypair):
    _bovine_send("POST", base_url + "/inbox", keypair[0], json.dumps(ACTIVITY))
    captured = _last()
    altered = Captured(captured.method, captured.path, captured.query, captured.headers, captured.body + b" ")
    with pytest.raises(DigestMismatchError):
        _our_verify(altered, keypair[1])


def test_bovine_signature_with_other_key_fails_here(base_url, keypair):
    _bovine_send("GET", base_url + "/actor/alice", keys.generate_keypair()[0])
    with pytest.raises(BadSignatureError):
        _our_verify(_last(), keypair[1])


# --- we sign, bovine verifies ---------------------------------------------------------


def test_our_signed_get_verifies_in_bovine(base_url, keypair):
    url = base_url + "/actor/alice"
    _our_send("GET", url, keypair[0])
    captured = _last()
    assert captured.headers["host"] == urlsplit(url).netloc
    assert _bovine_verify(captured, url, keypair[1]) == ACTOR


def test_our_signed_post_verifies_in_bovine(base_url, keypair):
    url = base_url + "/inbox"
    _our_send("POST", url, keypair[0], json.dumps(ACTIVITY).encode())
    captured = _last()
    assert captured.headers["digest"].startswith("SHA-256=")
    assert _bovine_verify(captured, url, keypair[1]) == ACTOR
    assert _our_verify(captured, keypair[1]).key_id == KEY_ID


def test_bovine_rejects_our_post_with_altered_body(base_url, keypair):
    # Guards against a vacuous pass: bovine's checker must be able to say no.
    url = base_url + "/inbox"
    _our_send("POST", url, keypair[0], json.dumps(ACTIVITY).encode())
    assert _bovine_verify(_last(), url, keypair[1], body=b"{}") is None


def test_bovine_rejects_our_get_with_other_key(base_url, keypair):
    url = base_url + "/actor/alice"
    _our_send("GET", url, keys.generate_keypair()[0])
    assert _bovine_verify(_last(), url, keypair[1]) is None

