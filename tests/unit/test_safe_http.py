"""SafeHttpClient: SSRF address checks, pinning, redirects, caps, deadlines, status errors.

Every peer here is a server on 127.0.0.1. Blocked addresses are only ever
refused, never contacted: ``no_connections`` turns any connect attempt in
those tests into a failure.
"""
from __future__ import annotations

import datetime
import ipaddress
import json
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from hub.federation import http as safe_http
from hub.federation.http import (
    FetchError,
    HTTPStatusError,
    ResponseTooLargeError,
    SafeHttpClient,
    TooManyRedirectsError,
    UnsafeURLError,
)

STOP = threading.Event()


class PeerHandler(BaseHTTPRequestHandler):
    """A fake peer whose behaviour is chosen by the request path."""

    def log_message(self, *args: object) -> None:
        """Keep test output quiet."""

    def do_GET(self) -> None:
        """Route GETs."""
        self._route()

    def do_POST(self) -> None:
        """Route POSTs."""
        self._route()

    def _route(self) -> None:
        """Dispatch on the first path segment."""
        parts = urlsplit(self.path)
        segments = parts.path.strip("/").split("/")
        query = parse_qs(parts.query)
        handler = getattr(self, "_do_" + segments[0].replace("-", "_"), None)
        if handler is None:
            self._send(404, b"not found")
        else:
            handler(segments[1:], query)

    def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None, length: bool = True) -> None:
        """Write a complete response."""
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if length:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _do_ok(self, _segments, _query) -> None:
        self._send(200, b"hello", {"X-Multi": "a"})

    def _do_echo(self, _segments, _query) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length) if length else b""
        payload = {"method": self.command, "path": self.path, "headers": dict(self.headers), "body": body.decode()}
        self._send(200, json.dumps(payload).encode(), {"Content-Type": "application/json"})

    def _do_chain(self, segments, _query) -> None:
        left = int(segments[0])
        if left == 0:
            self._send(200, b"end of chain")
        else:
            self._send(302, b"", {"Location": f"/chain/{left - 1}"})

    def _do_redirect_to(self, segments, query) -> None:
        status = int(segments[0]) if segments and segments[0] else 302
        self._send(status, b"", {"Location": query["url"][0]})

    def _do_big(self, _segments, _query) -> None:
        self._send(200, b"x" * 2000)

    def _do_odd_length(self, _segments, _query) -> None:
        self._send(200, b"x" * 2000, {"Content-Length": "\u00b2"}, length=False)

    def _do_big_stream(self, _segments, _query) -> None:
        self._send(200, b"x" * 2000, length=False)  # HTTP/1.0, close-delimited

    def _do_status(self, segments, _query) -> None:
        self._send(int(segments[0]), b"e" * 5000, {"Retry-After": "30"})

    def _do_sleep(self, _segments, _query) -> None:
        STOP.wait(3)
        self._send(200, b"late")

    def _do_drip(self, _segments, _query) -> None:
        self.send_response(200)
        self.end_headers()
        for _ in range(100):  # one byte every 50 ms: each read is quick, the whole is not
            if STOP.wait(0.05):
                return
            try:
                self.wfile.write(b"x")
                self.wfile.flush()
            except OSError:
                return


def _serve(server: ThreadingHTTPServer) -> Iterator[int]:
    """Run ``server`` in a thread and yield its port."""
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        STOP.set()
        server.shutdown()
        server.server_close()
        STOP.clear()


@pytest.fixture(scope="module")
def port() -> Iterator[int]:
    """Start the fake peer on 127.0.0.1."""
    yield from _serve(ThreadingHTTPServer(("127.0.0.1", 0), PeerHandler))


@pytest.fixture
def client() -> SafeHttpClient:
    """A client allowed to reach the loopback test server, with short limits."""
    return SafeHttpClient(allow_loopback=True, connect_timeout=1, total_timeout=3, max_bytes=1000)


@pytest.fixture
def no_connections(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test if the client tries to open any connection."""

    def refuse(*args: object, **kwargs: object) -> socket.socket:
        raise AssertionError(f"connection attempted: {args}")

    monkeypatch.setattr(safe_http.socket, "create_connection", refuse)


def mapping_resolver(names: dict[str, list[str]], calls: list[str] | None = None):
    """Return a resolver answering from ``names`` and logging each lookup."""

    def resolve(host: str, _port: int) -> list[str]:
        if calls is not None:
            calls.append(host)
        return names[host]

    return resolve


# --- address policy --------------------------------------------------------

BLOCKED_URLS = [
    "http://127.0.0.1/",
    "http://127.1.2.3:8080/",
    "http://localhost./",
    "http://10.0.0.1/",
    "http://172.16.0.1/",
    "http://172.31.255.255/",
    "http://192.168.1.1/",
    "http://169.254.169.254/latest/meta-data/",
    "http://[::1]/",
    "http://[fc00::1]/",
    "http://[fd12:3456::1]/",
    "http://[fe80::1]/",
    "http://[::ffff:127.0.0.1]/",
    "http://[::ffff:169.254.169.254]/",
    "http://[::ffff:10.0.0.1]/",
    "http://[64:ff9b::a00:1]/",  # NAT64 of 10.0.0.1
    "http://[2002:a00:1::1]/",  # 6to4 of 10.0.0.1
    "http://[::]/",
    "http://0.0.0.0/",
    "http://0/",
    "http://100.64.0.1/",
    "http://198.18.0.1/",
    "http://224.0.0.1/",
    "http://255.255.255.255/",
    "http://240.0.0.1/",
    "http://2130706433/",  # 127.0.0.1 as one decimal number
    "http://0x7f.1/",  # 127.0.0.1 in hex, short form
    "http://0177.0.0.1/",  # 127.0.0.1 in octal
    "https://10.1.2.3/inbox",
]


@pytest.mark.parametrize("url", BLOCKED_URLS)
def test_blocked_addresses_are_refused(url, no_connections):
    client = SafeHttpClient(total_timeout=2)
    with pytest.raises(UnsafeURLError) as info:
        client.get(url)
    assert info.value.retryable is False


@pytest.mark.parametrize("url", ["http://10.0.0.1/", "http://169.254.169.254/", "http://[fc00::1]/", "http://100.64.0.1/"])
def test_allow_loopback_does_not_open_private_ranges(url, no_connections):
    with pytest.raises(UnsafeURLError):
        SafeHttpClient(allow_loopback=True).get(url)


@pytest.mark.parametrize(
    "url",
    [
        "ftp://peer.example/file",
        "file:///etc/passwd",
        "gopher://127.0.0.1:25/",
        "javascript:alert(1)",
        "data:text/plain,hi",
        "//peer.example/no-scheme",
        "http:///no-host",
        "http://user:pw@peer.example/",
        "http://peer.example:99999/",
        "http://peer.example/a path",
        "http://peer.example/\r\nX-Injected: 1",
        "http://пример.example/",
    ],
)
def test_bad_urls_are_refused(url, no_connections):
    with pytest.raises(UnsafeURLError):
        SafeHttpClient(allow_loopback=True).get(url)


@pytest.mark.parametrize("address", ["93.184.216.34", "1.1.1.1", "2606:4700:4700::1111", "::ffff:93.184.216.34"])
def test_public_addresses_are_allowed(address):
    assert safe_http.is_allowed_address(ipaddress.ip_address(address)) is True


@pytest.mark.parametrize("address", ["127.0.0.1", "::1", "::ffff:127.0.0.1"])
def test_loopback_only_with_allow_loopback(address):
    ip = ipaddress.ip_address(address)
    assert safe_http.is_allowed_address(ip) is False
    assert safe_http.is_allowed_address(ip, allow_loopback=True) is True


def test_name_with_any_private_answer_is_refused(no_connections):
    # A rebinding-style answer set: one public, one internal address.
    client = SafeHttpClient(resolver=mapping_resolver({"mixed.test": ["93.184.216.34", "10.0.0.7"]}))
    with pytest.raises(UnsafeURLError):
        client.get("http://mixed.test/")


def test_request_host_header_values():
    assert safe_http.request_host("https://Peer.Example:443/x") == "peer.example"
    assert safe_http.request_host("http://peer.example:8080/x") == "peer.example:8080"
    assert safe_http.request_host("http://[::1]:8080/") == "[::1]:8080"


# --- reaching the loopback peer ---------------------------------------------


def test_loopback_server_reachable_with_allow_loopback(port, client):
    response = client.get(f"http://127.0.0.1:{port}/ok")
    assert (response.status, response.body, response.url) == (200, b"hello", f"http://127.0.0.1:{port}/ok")
    assert response.headers["x-multi"] == "a"


def test_loopback_server_refused_by_default(port, no_connections):
    with pytest.raises(UnsafeURLError):
        SafeHttpClient().get(f"http://127.0.0.1:{port}/ok")


def test_connection_is_pinned_to_the_single_lookup(port):
    calls: list[str] = []
    client = SafeHttpClient(allow_loopback=True, resolver=mapping_resolver({"peer.test": ["127.0.0.1"]}, calls))
    echoed = client.get(f"http://peer.test:{port}/echo", headers={"Accept": "application/activity+json"}).json()
    assert calls == ["peer.test"]
    assert echoed["headers"]["Host"] == f"peer.test:{port}"
    assert echoed["headers"]["Accept"] == "application/activity+json"
    assert echoed["headers"]["Accept-Encoding"] == "identity"


def test_caller_cannot_override_host(port, client):
    echoed = client.get(f"http://127.0.0.1:{port}/echo", headers={"Host": "internal.admin"}).json()
    assert echoed["headers"]["Host"] == f"127.0.0.1:{port}"


def test_post_sends_body_and_headers(port, client):
    echoed = client.post(f"http://127.0.0.1:{port}/echo", b'{"a": 1}', {"Content-Type": "application/activity+json"})
    data = echoed.json()
    assert (data["method"], data["body"]) == ("POST", '{"a": 1}')
    assert data["headers"]["Content-Type"] == "application/activity+json"
    assert data["headers"]["Content-Length"] == "8"


def test_connection_refused_is_retryable():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        free_port = sock.getsockname()[1]
    with pytest.raises(FetchError) as info:
        SafeHttpClient(allow_loopback=True, connect_timeout=1).get(f"http://127.0.0.1:{free_port}/")
    assert info.value.retryable is True


# --- redirects ------------------------------------------------------------------


def test_redirect_chain_of_five_is_followed(port, client):
    response = client.get(f"http://127.0.0.1:{port}/chain/5")
    assert (response.status, response.body) == (200, b"end of chain")
    assert response.url == f"http://127.0.0.1:{port}/chain/0"


def test_redirect_chain_of_six_is_refused(port, client):
    with pytest.raises(TooManyRedirectsError) as info:
        client.get(f"http://127.0.0.1:{port}/chain/6")
    assert info.value.retryable is False


def test_max_redirects_is_configurable(port):
    client = SafeHttpClient(allow_loopback=True, max_redirects=1)
    with pytest.raises(TooManyRedirectsError):
        client.get(f"http://127.0.0.1:{port}/chain/2")


@pytest.mark.parametrize(
    "location",
    ["http://169.254.169.254/latest/meta-data/", "http://10.0.0.1/", "http://[::ffff:192.168.0.1]/", "file:///etc/passwd"],
)
def test_redirect_to_blocked_target_is_refused(port, client, location):
    real_connect = socket.create_connection
    contacted: list[tuple] = []

    def recording_connect(address, *args, **kwargs):
        contacted.append(address)
        return real_connect(address, *args, **kwargs)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(safe_http.socket, "create_connection", recording_connect)
        with pytest.raises(UnsafeURLError):
            client.get(f"http://127.0.0.1:{port}/redirect-to/302?url={location}")
    assert contacted == [("127.0.0.1", port)]


def test_follow_redirects_false_returns_the_redirect(port, client):
    response = client.get(f"http://127.0.0.1:{port}/chain/1", follow_redirects=False)
    assert (response.status, response.headers["location"]) == (302, "/chain/0")


def test_cross_origin_redirect_drops_credentials(port):
    resolver = mapping_resolver({"a.test": ["127.0.0.1"], "b.test": ["127.0.0.1"]})
    client = SafeHttpClient(allow_loopback=True, resolver=resolver)
    secret = {"Signature": "keyId=...", "Authorization": "Bearer t", "X-Keep": "1"}
    same = client.get(f"http://a.test:{port}/redirect-to/?url=/echo", headers=secret).json()["headers"]
    assert same["Signature"] == "keyId=..." and same["X-Keep"] == "1"
    other = client.get(f"http://a.test:{port}/redirect-to/?url=http://b.test:{port}/echo", headers=secret).json()
    assert "Signature" not in other["headers"] and "Authorization" not in other["headers"]
    assert other["headers"]["X-Keep"] == "1" and other["headers"]["Host"] == f"b.test:{port}"


def test_post_follows_307_with_body(port, client):
    response = client.post(f"http://127.0.0.1:{port}/redirect-to/307?url=/echo", b"payload")
    assert (response.json()["method"], response.json()["body"]) == ("POST", "payload")


def test_post_does_not_follow_302(port, client):
    response = client.post(f"http://127.0.0.1:{port}/redirect-to/302?url=/echo", b"payload")
    assert response.status == 302


# --- size cap and deadlines -------------------------------------------------------


@pytest.mark.parametrize("path", ["/big", "/big-stream"])
def test_size_cap(port, client, path):
    with pytest.raises(ResponseTooLargeError) as info:
        client.get(f"http://127.0.0.1:{port}{path}")
    assert info.value.retryable is False
    roomy = SafeHttpClient(allow_loopback=True, max_bytes=2000)
    assert len(roomy.get(f"http://127.0.0.1:{port}{path}").body) == 2000


def test_a_length_that_is_no_number_is_read_up_to_the_cap(port, client):
    """A peer's Content-Length of "²" (byte 0xB2; ``str.isdigit`` takes it, ``int`` refuses it) is not a declared
    size: the body is read up to the cap as if no length were sent."""
    with pytest.raises(ResponseTooLargeError):
        client.get(f"http://127.0.0.1:{port}/odd-length")
    assert len(SafeHttpClient(allow_loopback=True, max_bytes=2000).get(f"http://127.0.0.1:{port}/odd-length").body) == 2000


def test_sleeping_server_times_out_quickly_and_retryably(port):
    client = SafeHttpClient(allow_loopback=True, connect_timeout=1, total_timeout=0.3)
    started = time.monotonic()
    with pytest.raises(FetchError) as info:
        client.get(f"http://127.0.0.1:{port}/sleep")
    assert info.value.retryable is True
    assert time.monotonic() - started < 1.5


def test_dripping_server_hits_the_total_deadline(port):
    client = SafeHttpClient(allow_loopback=True, connect_timeout=1, total_timeout=0.4, max_bytes=10_000)
    started = time.monotonic()
    with pytest.raises(FetchError) as info:
        client.get(f"http://127.0.0.1:{port}/drip")
    assert info.value.retryable is True
    assert time.monotonic() - started < 1.5


def test_slow_resolver_hits_the_deadline():
    def slow(_host: str, _port: int) -> list[str]:
        time.sleep(1)
        return ["127.0.0.1"]

    started = time.monotonic()
    with pytest.raises(FetchError) as info:
        SafeHttpClient(allow_loopback=True, total_timeout=0.2, resolver=slow).get("http://slow.test/")
    assert info.value.retryable is True
    assert time.monotonic() - started < 0.9


# --- status errors ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "retryable"), [(503, True), (500, True), (429, True), (404, False), (410, False), (401, False)]
)
def test_status_errors(port, client, status, retryable):
    with pytest.raises(HTTPStatusError) as info:
        client.get(f"http://127.0.0.1:{port}/status/{status}")
    assert (info.value.status, info.value.retryable) == (status, retryable)
    assert info.value.response.headers["retry-after"] == "30"
    assert len(info.value.response.body) == 1000  # an oversized error body is truncated, not fatal


def test_status_errors_are_fetch_errors():
    assert issubclass(HTTPStatusError, FetchError) and issubclass(UnsafeURLError, FetchError)


# --- TLS on a pinned address ------------------------------------------------------


@pytest.fixture(scope="module")
def tls_peer(tmp_path_factory) -> Iterator[tuple[int, str, list[str]]]:
    """Serve HTTPS on 127.0.0.1 with a self-signed certificate for peer.test; yield port, CA PEM, SNI log."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "peer.test")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("peer.test")]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    folder = tmp_path_factory.mktemp("tls")
    cert_pem = cert.public_bytes(serialization.Encoding.PEM)
    (folder / "cert.pem").write_bytes(cert_pem)
    (folder / "key.pem").write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    sni_names: list[str] = []
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(folder / "cert.pem", folder / "key.pem")
    context.sni_callback = lambda _sock, server_name, _ctx: sni_names.append(server_name)
    server = ThreadingHTTPServer(("127.0.0.1", 0), PeerHandler)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    for tls_port in _serve(server):
        yield tls_port, cert_pem.decode(), sni_names


def _tls_client(ca_pem: str) -> SafeHttpClient:
    """A client trusting the test CA that maps the .test names to loopback."""
    resolver = mapping_resolver({"peer.test": ["127.0.0.1"], "other.test": ["127.0.0.1"]})
    context = ssl.create_default_context(cadata=ca_pem)
    return SafeHttpClient(allow_loopback=True, total_timeout=3, resolver=resolver, ssl_context=context)


def test_https_uses_host_name_for_sni_and_certificate(tls_peer):
    tls_port, ca_pem, sni_names = tls_peer
    echoed = _tls_client(ca_pem).get(f"https://peer.test:{tls_port}/echo").json()
    assert echoed["headers"]["Host"] == f"peer.test:{tls_port}"
    assert sni_names[-1] == "peer.test"


def test_https_certificate_for_another_name_is_rejected(tls_peer):
    tls_port, ca_pem, _ = tls_peer
    with pytest.raises(FetchError) as info:
        _tls_client(ca_pem).get(f"https://other.test:{tls_port}/ok")
    assert info.value.retryable is False
    assert "certificate" in str(info.value)


def test_https_untrusted_certificate_is_rejected(tls_peer):
    tls_port, _, _ = tls_peer
    resolver = mapping_resolver({"peer.test": ["127.0.0.1"]})
    with pytest.raises(FetchError):
        SafeHttpClient(allow_loopback=True, total_timeout=3, resolver=resolver).get(f"https://peer.test:{tls_port}/ok")
