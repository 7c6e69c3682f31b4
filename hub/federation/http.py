"""The one outbound HTTP client for federation, guarded against SSRF.

Every URL a peer hands us (actor ids, inboxes, key ids, redirect targets) is
attacker-chosen, so a naive fetch could reach the cloud metadata service, the
database or an admin port on the hub's own network. This client resolves each
host once, refuses any non-public address, then connects to exactly that
address so a second DNS answer (DNS rebinding, TOCTOU) cannot move the request
elsewhere. It sends the real Host header and verifies TLS against the real
host name. It is built on the standard library alone because pooled clients
(requests, urllib3, aiohttp) resolve names again when they connect.

Redirects are followed by hand, re-checking every hop; each request has a hard
total deadline (a watchdog closes the socket, so a peer dripping bytes cannot
hold a worker) and a response size cap.
"""
from __future__ import annotations

import concurrent.futures
import contextlib
import http.client
import ipaddress
import json
import socket
import ssl
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin, urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Sequence[str]]

DEFAULT_USER_AGENT = "PracticeExchangeHub/0.1 (+ActivityPub)"
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
# Only these keep the method and body, so only these are followed for POST;
# turning a delivery into a GET would look like success while losing it.
BODY_PRESERVING_REDIRECTS = frozenset({307, 308})
CREDENTIAL_HEADERS = frozenset({"authorization", "signature", "cookie", "proxy-authorization"})
_READ_CHUNK = 64 * 1024
_DEFAULT_PORTS = {"http": 80, "https": 443}

# Ranges refused even where ipaddress.is_global disagrees or differs between
# Python releases (is_global has changed in 3.11.x/3.12.x security updates).
_BLOCKED_NETWORKS = tuple(
    ipaddress.ip_network(net)
    for net in (
        "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16",
        "172.16.0.0/12", "192.0.0.0/24", "192.0.2.0/24", "192.88.99.0/24",
        "192.168.0.0/16", "198.18.0.0/15", "198.51.100.0/24", "203.0.113.0/24",
        "224.0.0.0/4", "240.0.0.0/4",
        "::/128", "::1/128", "::/96", "64:ff9b:1::/48", "100::/64", "2001::/23",
        "2001:db8::/32", "3fff::/20", "fc00::/7", "fe80::/10", "fec0::/10", "ff00::/8",
    )
)
_NAT64 = ipaddress.ip_network("64:ff9b::/96")

# getaddrinfo() has no timeout of its own; running it here bounds how long a
# caller waits (a stuck lookup finishes in the background).
_RESOLVER_POOL = concurrent.futures.ThreadPoolExecutor(max_workers=4, thread_name_prefix="safe-http-dns")


class FetchError(Exception):
    """An outbound request failed; ``retryable`` says whether trying later may help.

    The message (English) is for logs; ``code`` and ``params`` say the same for people, in their
    language (hub.federation.problems).
    """

    def __init__(self, message: str, *, retryable: bool, url: str | None = None, code: str = "network",
                 params: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.url = url
        self.code = code
        self.params = params or {}


class UnsafeURLError(FetchError):
    """The URL's scheme, form or resolved address is not allowed."""

    def __init__(self, message: str, *, url: str | None = None, code: str = "invalid_address",
                 params: dict[str, Any] | None = None) -> None:
        super().__init__(message, retryable=False, url=url, code=code, params=params)


class ResponseTooLargeError(FetchError):
    """The response body exceeded ``max_bytes``."""

    def __init__(self, message: str, *, url: str | None = None) -> None:
        super().__init__(message, retryable=False, url=url, code="too_large")


class TooManyRedirectsError(FetchError):
    """The redirect chain was longer than allowed."""

    def __init__(self, message: str, *, url: str | None = None) -> None:
        super().__init__(message, retryable=False, url=url, code="too_many_redirects")


class HTTPStatusError(FetchError):
    """The peer answered 4xx/5xx; 5xx and 429 are retryable, other 4xx are not."""

    def __init__(self, response: Response) -> None:
        self.status = response.status
        self.response = response
        retryable = response.status >= 500 or response.status == 429
        super().__init__(f"HTTP {response.status} from {response.url}", retryable=retryable, url=response.url,
                         code="http_status", params={"status": response.status})


@dataclass(frozen=True)
class Response:
    """A finished response; header names are lower-case, repeated headers joined by ", "."""

    status: int
    headers: Mapping[str, str]
    body: bytes
    url: str

    def json(self) -> Any:
        """Decode the body as JSON."""
        return json.loads(self.body)


@dataclass(frozen=True)
class _Target:
    """A checked URL split into what a connection needs."""

    url: str
    scheme: str
    host: str  # ASCII (IDNA) host name or IP literal, without brackets
    port: int
    host_header: str
    request_target: str


@dataclass
class _Watchdog:
    """Close a socket at the deadline so no single read can outlive it."""

    sock: socket.socket | None = None
    fired: bool = False
    _timer: threading.Timer | None = field(default=None, repr=False)

    def start(self, seconds: float) -> None:
        """Arm the watchdog."""
        self._timer = threading.Timer(max(seconds, 0.0), self._fire)
        self._timer.daemon = True
        self._timer.start()

    def stop(self) -> None:
        """Disarm the watchdog."""
        if self._timer is not None:
            self._timer.cancel()

    def _fire(self) -> None:
        """Shut the socket down, which wakes any thread blocked reading it."""
        self.fired = True
        if self.sock is not None:
            # The base-class method acts on the file descriptor alone, so it
            # is safe for TLS sockets that another thread is reading.
            with contextlib.suppress(OSError):
                socket.socket.shutdown(self.sock, socket.SHUT_RDWR)


def request_host(url: str) -> str:
    """Return the Host header value for ``url``: lower-case, IDNA, port only when not the default."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if not parts.hostname:
        raise ValueError(f"URL has no host: {url!r}")
    host = _ascii_host(parts.hostname)
    if ":" in host:
        host = f"[{host}]"
    port = parts.port
    if port is None or port == _DEFAULT_PORTS.get(scheme):
        return host
    return f"{host}:{port}"


def _ascii_host(hostname: str) -> str:
    """Lower-case a host name and IDNA-encode it if it is not ASCII."""
    hostname = hostname.lower().rstrip(".")
    if hostname.isascii():
        return hostname
    return hostname.encode("idna").decode("ascii")


def is_allowed_address(ip: IPAddress, *, allow_loopback: bool = False) -> bool:
    """Return whether the client may connect to ``ip``."""
    embedded = _embedded_ipv4(ip)
    if embedded is not None:
        return is_allowed_address(embedded, allow_loopback=allow_loopback)
    if ip.is_loopback:
        return allow_loopback
    if any(ip in net for net in _BLOCKED_NETWORKS if net.version == ip.version):
        return False
    special = ip.is_private or ip.is_multicast or ip.is_reserved or ip.is_link_local or ip.is_unspecified
    return ip.is_global and not special


def _embedded_ipv4(ip: IPAddress) -> ipaddress.IPv4Address | None:
    """Return the IPv4 address an IPv6 address tunnels to, if any (mapped, 6to4, NAT64)."""
    if not isinstance(ip, ipaddress.IPv6Address):
        return None
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def _system_resolve(host: str, port: int) -> list[str]:
    """Resolve ``host`` with the system resolver, returning unique address strings."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


class SafeHttpClient:
    """Outbound HTTP(S) client that only reaches public addresses (see module docstring)."""

    def __init__(
        self,
        allow_loopback: bool = False,
        connect_timeout: float = 5,
        total_timeout: float = 30,
        max_bytes: int = 1_000_000,
        user_agent: str = DEFAULT_USER_AGENT,
        *,
        max_redirects: int = 5,
        resolver: Resolver | None = None,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.allow_loopback = allow_loopback
        self.connect_timeout = connect_timeout
        self.total_timeout = total_timeout
        self.max_bytes = max_bytes
        self.user_agent = user_agent
        self.max_redirects = max_redirects
        self._resolver = resolver or _system_resolve
        self._ssl_context = ssl_context or ssl.create_default_context()

    def get(self, url: str, headers: Mapping[str, str] | None = None, *, follow_redirects: bool = True) -> Response:
        """GET ``url``; raise FetchError (or a subclass) unless the final status is below 400."""
        return self._request("GET", url, None, headers, follow_redirects)

    def post(
        self, url: str, body: bytes, headers: Mapping[str, str] | None = None, *, follow_redirects: bool = True
    ) -> Response:
        """POST ``body`` to ``url``; only 307/308 redirects are followed."""
        return self._request("POST", url, body, headers, follow_redirects)

    def check_url(self, url: str) -> None:
        """Raise UnsafeURLError unless ``url`` is one this client would fetch (resolves the host)."""
        target = self._parse(url)
        self._resolve(target, time.monotonic() + self.total_timeout)

    def _request(
        self,
        method: str,
        url: str,
        body: bytes | None,
        headers: Mapping[str, str] | None,
        follow_redirects: bool,
    ) -> Response:
        """Send the request, following redirects by hand and re-checking every hop."""
        deadline = time.monotonic() + self.total_timeout
        extra = {k: v for k, v in (headers or {}).items() if k.lower() != "host"}
        target = self._parse(url)
        for _ in range(self.max_redirects + 1):
            addresses = self._resolve(target, deadline)
            response = self._exchange(target, addresses, method, body, extra, deadline)
            location = response.headers.get("location") if follow_redirects else None
            if not location or not _follows(method, response.status):
                return _raise_for_status(response)
            next_target = self._parse(urljoin(target.url, location))
            if _origin(next_target) != _origin(target):
                # Never hand credentials or a signature to a host they were not meant for.
                extra = {k: v for k, v in extra.items() if k.lower() not in CREDENTIAL_HEADERS}
            target = next_target
        raise TooManyRedirectsError(f"more than {self.max_redirects} redirects", url=url)

    def _parse(self, url: str) -> _Target:
        """Check the URL's form and split it; no network access."""
        if not isinstance(url, str) or not url.isascii() or any(c <= " " or c == "\x7f" for c in url):
            raise UnsafeURLError("URL must be printable ASCII (percent-encode it)", url=str(url), code="not_ascii")
        try:
            parts = urlsplit(url)
            scheme = parts.scheme.lower()
            if scheme not in _DEFAULT_PORTS:
                raise UnsafeURLError(f"scheme {scheme!r} is not allowed", url=url, code="scheme")
            port = parts.port
            host_header = request_host(url)
        except ValueError as exc:
            raise UnsafeURLError(f"malformed URL: {exc}", url=url) from None
        if parts.username is not None or parts.password is not None:
            raise UnsafeURLError("credentials in URLs are not allowed", url=url, code="credentials")
        path = parts.path or "/"
        target = f"{path}?{parts.query}" if parts.query else path
        host = _ascii_host(parts.hostname or "")
        return _Target(url, scheme, host, port or _DEFAULT_PORTS[scheme], host_header, target)

    def _resolve(self, target: _Target, deadline: float) -> list[IPAddress]:
        """Resolve the host once and refuse it if any answer is not an allowed address."""
        try:
            future = _RESOLVER_POOL.submit(self._resolver, target.host, target.port)
            answers = future.result(timeout=_remaining(deadline, target.url))
        except concurrent.futures.TimeoutError:
            raise FetchError(f"resolving {target.host} timed out", retryable=True, url=target.url,
                             code="dns_timeout", params={"host": target.host}) from None
        except socket.gaierror as exc:
            retryable = exc.errno == socket.EAI_AGAIN
            raise FetchError(f"cannot resolve {target.host}: {exc}", retryable=retryable, url=target.url,
                             code="dns_failed", params={"host": target.host}) from None
        except (OSError, UnicodeError) as exc:
            raise FetchError(f"cannot resolve {target.host}: {exc}", retryable=False, url=target.url,
                             code="dns_failed", params={"host": target.host}) from None
        addresses = [_parse_ip(answer, target.url) for answer in answers]
        if not addresses:
            raise FetchError(f"{target.host} has no addresses", retryable=False, url=target.url,
                             code="no_addresses", params={"host": target.host})
        # Refuse the host if ANY answer is internal: a name that mixes public and
        # private answers is either misconfigured or an attack.
        for ip in addresses:
            if not is_allowed_address(ip, allow_loopback=self.allow_loopback):
                raise UnsafeURLError(f"{target.host} resolves to blocked address {ip}", url=target.url,
                                     code="blocked_address", params={"host": target.host, "ip": str(ip)})
        return addresses

    def _exchange(
        self,
        target: _Target,
        addresses: list[IPAddress],
        method: str,
        body: bytes | None,
        headers: Mapping[str, str],
        deadline: float,
    ) -> Response:
        """Perform one request/response on a connection pinned to a checked address."""
        watchdog = _Watchdog()
        watchdog.start(_remaining(deadline, target.url))
        conn = http.client.HTTPConnection(target.host, target.port)
        response: http.client.HTTPResponse | None = None
        try:
            conn.sock = self._connect(target, addresses, deadline, watchdog)
            conn.request(method, target.request_target, body=body, headers=self._headers(target, body, headers))
            response = conn.getresponse()
            body_bytes = self._read_body(response, target, strict=response.status < 300)
        except (OSError, http.client.HTTPException) as exc:
            raise _translate(exc, watchdog.fired, target.url) from None
        finally:
            watchdog.stop()
            # With "Connection: close" the response owns the socket, so both must be closed.
            if response is not None:
                response.close()
            conn.close()
        if watchdog.fired:
            # A close-delimited body cut short by the watchdog reads as a clean EOF.
            raise FetchError("total timeout exceeded", retryable=True, url=target.url, code="timeout")
        return Response(response.status, _header_dict(response), body_bytes, target.url)

    def _connect(
        self, target: _Target, addresses: list[IPAddress], deadline: float, watchdog: _Watchdog
    ) -> socket.socket:
        """Connect to the first reachable pinned address, wrapping TLS with the real host name."""
        last_error: OSError | None = None
        for ip in addresses:
            timeout = min(self.connect_timeout, _remaining(deadline, target.url))
            try:
                sock = socket.create_connection((str(ip), target.port), timeout=timeout)
            except OSError as exc:
                last_error = exc
                continue
            try:
                return self._prepare(sock, target, deadline, watchdog)
            except BaseException:
                sock.close()
                raise
        raise FetchError(
            f"cannot connect to {target.host}:{target.port}: {last_error}", retryable=True, url=target.url,
            code="connect_failed", params={"host": target.host},
        )

    def _prepare(self, sock: socket.socket, target: _Target, deadline: float, watchdog: _Watchdog) -> socket.socket:
        """Hand a fresh connection to the watchdog and, for https, complete TLS."""
        watchdog.sock = sock
        sock.settimeout(_remaining(deadline, target.url))
        if target.scheme != "https":
            return sock
        # SNI and certificate checks use the host name, not the pinned IP. The
        # handshake runs after the watchdog holds the TLS socket, because
        # wrapping detaches the plain one.
        tls = self._ssl_context.wrap_socket(sock, server_hostname=target.host, do_handshake_on_connect=False)
        watchdog.sock = tls
        try:
            tls.do_handshake()
        except BaseException:
            tls.close()
            raise
        return tls

    def _headers(self, target: _Target, body: bytes | None, extra: Mapping[str, str]) -> dict[str, str]:
        """Build request headers: ours first, the caller's on top, Host always ours."""
        headers = {
            "User-Agent": self.user_agent,
            # No compression: a small gzip body could otherwise inflate past max_bytes.
            "Accept-Encoding": "identity",
            "Connection": "close",
        }
        headers.update(extra)
        headers["Host"] = target.host_header
        if body is not None:
            headers["Content-Length"] = str(len(body))
        return headers

    def _read_body(self, response: http.client.HTTPResponse, target: _Target, *, strict: bool) -> bytes:
        """Read at most ``max_bytes``; past that raise if ``strict``, else truncate."""
        # Error and redirect bodies are only diagnostics: truncating them keeps
        # a 503 with a huge page retryable instead of turning it into a size error.
        declared = response.getheader("content-length")
        declared = (declared or "").strip()
        if strict and declared.isascii() and declared.isdigit() and int(declared) > self.max_bytes:
            raise ResponseTooLargeError(f"declared {declared} bytes > {self.max_bytes}", url=target.url)
        chunks: list[bytes] = []
        size = 0
        while chunk := response.read(_READ_CHUNK):
            size += len(chunk)
            if size > self.max_bytes:
                if strict:
                    raise ResponseTooLargeError(f"body exceeds {self.max_bytes} bytes", url=target.url)
                chunks.append(chunk[: self.max_bytes - (size - len(chunk))])
                break
            chunks.append(chunk)
        return b"".join(chunks)


def _parse_ip(answer: str, url: str) -> IPAddress:
    """Parse a resolver answer into an address object."""
    try:
        return ipaddress.ip_address(answer)
    except ValueError:
        raise UnsafeURLError(f"resolver returned a non-address {answer!r}", url=url) from None


def _remaining(deadline: float, url: str) -> float:
    """Return the seconds left before ``deadline``, raising a retryable error if none."""
    left = deadline - time.monotonic()
    if left <= 0:
        raise FetchError("total timeout exceeded", retryable=True, url=url, code="timeout")
    return left


def _origin(target: _Target) -> tuple[str, str, int]:
    """Return the (scheme, host, port) triple that decides cross-origin redirects."""
    return target.scheme, target.host, target.port


def _follows(method: str, status: int) -> bool:
    """Return whether a redirect with ``status`` is followed for ``method``."""
    if method == "GET":
        return status in REDIRECT_STATUSES
    return status in BODY_PRESERVING_REDIRECTS


def _raise_for_status(response: Response) -> Response:
    """Return the response, or raise HTTPStatusError for 4xx/5xx."""
    if response.status >= 400:
        raise HTTPStatusError(response)
    return response


def _header_dict(response: http.client.HTTPResponse) -> dict[str, str]:
    """Collect response headers under lower-case names."""
    headers: dict[str, str] = {}
    for name, value in response.getheaders():
        key = name.lower()
        headers[key] = f"{headers[key]}, {value}" if key in headers else value
    return headers


def _translate(exc: OSError | http.client.HTTPException, deadline_hit: bool, url: str) -> FetchError:
    """Map a low-level exception to FetchError with the right ``retryable``."""
    if deadline_hit or isinstance(exc, TimeoutError):
        return FetchError("total timeout exceeded", retryable=True, url=url, code="timeout")
    if isinstance(exc, ssl.SSLCertVerificationError):
        return FetchError(f"TLS certificate rejected: {exc.verify_message}", retryable=False, url=url,
                          code="tls_rejected")
    if isinstance(exc, (ConnectionError, http.client.IncompleteRead, ssl.SSLError)):
        return FetchError(f"connection failed: {exc!r}", retryable=True, url=url, code="connection_failed")
    if isinstance(exc, http.client.HTTPException):
        return FetchError(f"malformed HTTP response: {exc!r}", retryable=False, url=url, code="bad_response")
    return FetchError(f"network error: {exc!r}", retryable=True, url=url)
