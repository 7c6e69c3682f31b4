"""HTTP Signatures for ActivityPub: draft-cavage-http-signatures-12 and RFC 9421.

This is how Mastodon, bovine and most of the fediverse prove which actor sent
a request: the sender signs parts of the request with the actor's key and
names the key (``keyId`` / ``keyid``); the receiver fetches that key and checks.
Two schemes are in use:

- draft-cavage (``Signature: keyId=...,headers=...,signature=...``), rsa-sha256,
  what nearly every server sends and accepts today;
- RFC 9421 HTTP Message Signatures (``Signature-Input`` + ``Signature``), which
  newer servers (Mastodon 4.4+) try first. Serialisation and cryptography are
  done by the maintained ``http-message-signatures`` library; this module adds
  the fediverse's policy: which components must be covered, the date window,
  the Host, the digest of any body.

Everything here is a plain function over method, path, headers and body, so the
inbox view, the delivery worker and the tests all share one implementation and
no web framework is needed to exercise it. :func:`verify_request` reads either
scheme; :func:`sign_request` writes the one asked for.

Verification is deliberately lenient where peers differ in harmless ways
(``hs2019`` for RSA or Ed25519 keys, a target without the query string, an hour
of clock skew) and strict where it matters (the request target, host and date
must be signed, and so must the digest of any body).
"""
from __future__ import annotations

import base64
import binascii
import email.utils
import functools
import hashlib
import hmac
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from datetime import UTC, datetime, timedelta
from urllib.parse import quote, urlsplit

import http_sf
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa
from http_message_signatures import (HTTPMessageSignaturesException, HTTPMessageSigner, HTTPMessageVerifier,
                                     MappingKeyResolver, algorithms)
from http_message_signatures import InvalidSignature as InvalidMessageSignature
from http_message_signatures.digests import ContentDigest

from hub.federation.http import request_host
from hub.federation.keys import VerificationKey, load_private_key, load_verification_key

CAVAGE = "cavage"
RFC9421 = "rfc9421"
SCHEMES = (RFC9421, CAVAGE)
SUPPORTED_ALGORITHMS = frozenset({"rsa-sha256", "hs2019"})
GET_SIGNED_HEADERS = ("(request-target)", "host", "date")
BODY_SIGNED_HEADERS = ("(request-target)", "host", "date", "digest")
# These methods carry a body by definition, so a missing Digest is never
# "no body" but an unsigned payload.
BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
MAX_SIGNATURE_HEADER = 8192
DEFAULT_MAX_SKEW = timedelta(hours=1)

_PARAM = re.compile(r'\s*([A-Za-z][A-Za-z0-9_-]*)\s*=\s*(?:"([^"]*)"|([0-9]+))\s*(?:,|$)')


class SignatureError(Exception):
    """A request's HTTP Signature is missing or invalid; ``reason_code`` says why."""

    reason_code = "signature_invalid"

    def __init__(self, reason_code: str | None = None, detail: str = "") -> None:
        if reason_code is not None:
            self.reason_code = reason_code
        self.detail = detail
        super().__init__(f"{self.reason_code}: {detail}" if detail else self.reason_code)


class MissingSignatureError(SignatureError):
    """There is no Signature header."""

    reason_code = "signature_missing"


class MalformedSignatureError(SignatureError):
    """The Signature header cannot be parsed or names a header the request lacks."""

    reason_code = "signature_malformed"


class InvalidKeyIdError(SignatureError):
    """The keyId is not an http(s) URL of the ``actor#fragment`` form required."""

    reason_code = "key_id_invalid"


class UnsupportedAlgorithmError(SignatureError):
    """The algorithm is neither rsa-sha256 nor hs2019 over an RSA key."""

    reason_code = "algorithm_unsupported"


class DigestMissingError(SignatureError):
    """The request has a body but no Digest header."""

    reason_code = "digest_missing"


class DigestMismatchError(SignatureError):
    """The Digest header does not match the body (or cannot be read)."""

    reason_code = "digest_mismatch"


class DateMissingError(SignatureError):
    """The Date header is absent or unparsable."""

    reason_code = "date_missing"


class DateOutOfWindowError(SignatureError):
    """The Date header is further from now than the allowed skew."""

    reason_code = "date_out_of_window"


class HeaderNotSignedError(SignatureError):
    """A header that must be covered by the signature is not."""

    reason_code = "header_not_signed"


class HostMismatchError(SignatureError):
    """The Host header is not the host this request was expected at."""

    reason_code = "host_mismatch"


class KeyUnavailableError(SignatureError):
    """The public key for the keyId could not be found or loaded."""

    reason_code = "key_unavailable"


class BadSignatureError(SignatureError):
    """The signature does not verify against the key."""

    reason_code = "signature_mismatch"


@dataclass(frozen=True)
class VerifiedSignature:
    """Who signed a request: the key id, the host that key lives on, and the scheme used."""

    key_id: str
    actor_host: str
    scheme: str = CAVAGE


@dataclass(frozen=True)
class _ParsedSignature:
    """The parameters of a Signature header that verification needs."""

    key_id: str
    algorithm: str
    headers: tuple[str, ...]
    signature: bytes
    created: str | None
    expires: str | None


def digest_header(body: bytes) -> str:
    """Return the Digest header value for ``body``: ``SHA-256=<base64>``."""
    return "SHA-256=" + base64.b64encode(hashlib.sha256(body).digest()).decode("ascii")


def key_id_host(key_id: str) -> str:
    """Return the lower-case host (with any non-default port) of an http(s) keyId."""
    if any(c == '"' or c == "\\" or not c.isprintable() or c.isspace() for c in key_id):
        raise InvalidKeyIdError(detail="keyId contains characters not allowed in a URL")
    try:
        parts = urlsplit(key_id)
        if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
            raise InvalidKeyIdError(detail="keyId must be an http(s) URL")
        return request_host(key_id)
    except (ValueError, UnicodeError):
        raise InvalidKeyIdError(detail="keyId is not a valid URL") from None


def actor_id_from_key_id(key_id: str) -> str:
    """Return the actor id of an ``actor#fragment`` keyId, refusing any other form."""
    key_id_host(key_id)
    actor, sep, fragment = key_id.partition("#")
    if not sep or not fragment or not actor:
        raise InvalidKeyIdError(detail="keyId must be of the form actor#fragment")
    return actor


def sign_request(
    *,
    method: str,
    url: str,
    headers: Mapping[str, str],
    body: bytes | None,
    key_id: str,
    private_key_pem: bytes,
    now: datetime | None = None,
    scheme: str = CAVAGE,
) -> dict[str, str]:
    """Return the headers to add to a request so that it is signed with ``scheme``.

    Both schemes add Host and Date. draft-cavage adds Digest (with a body) and Signature;
    RFC 9421 adds Content-Digest (with a body), Signature-Input and Signature, covering
    ``@method``, ``@target-uri`` and ``content-digest`` with rsa-v1_5-sha256 (what Mastodon
    4.4+ accepts). ``headers`` are the request's other headers; they are only consulted to
    refuse a conflicting Host, which would make the signature fail remotely.
    """
    actor_id_from_key_id(key_id)  # peers (Mastodon among them) insist on actor#fragment
    host = request_host(url)
    _refuse_conflicting_host(headers, host)
    added = {"Host": host, "Date": _http_date(now)}
    if scheme == RFC9421:
        added.update(_sign_rfc9421(method, url, body, key_id, bytes(private_key_pem), now))
        return added
    if scheme != CAVAGE:
        raise ValueError(f"unknown signature scheme {scheme!r}")
    signed = _headers_to_sign(method, body)
    if "digest" in signed:
        added["Digest"] = digest_header(body or b"")
    values = {name.lower(): value for name, value in added.items()}
    values["(request-target)"] = f"{method.lower()} {_request_target(url)}"
    message = "\n".join(f"{name}: {values[name]}" for name in signed).encode("ascii")
    signature = _private_key(bytes(private_key_pem)).sign(message, padding.PKCS1v15(), hashes.SHA256())
    added["Signature"] = _format_signature(key_id, signed, signature)
    return added


def verify_request(
    *,
    method: str,
    path: str,
    query: str,
    headers: Mapping[str, str],
    body: bytes | None,
    fetch_public_key: Callable[[str], str | None],
    now: datetime | None = None,
    max_skew: timedelta = DEFAULT_MAX_SKEW,
    expected_host: str | None = None,
    scheme: str = "https",
) -> VerifiedSignature:
    """Verify a request's HTTP Signature (either scheme), raising a SignatureError subclass if it fails.

    ``path`` and ``query`` must be the raw, still percent-encoded request
    target as sent (see ``raw_target_from_environ``); ``query`` is without "?".
    ``fetch_public_key(key_id)`` returns the PEM or None; its own exceptions
    (e.g. a retryable FetchError) propagate unchanged so the caller can tell
    "peer unreachable" from "forged". ``expected_host``, if given, must equal
    the Host header (case-insensitively), so a request signed for another hub
    cannot be replayed here. ``scheme`` is the URL scheme the sender addressed
    (RFC 9421 signs the whole target URI, ``https://host/path``).
    """
    lowered = {name.lower(): value for name, value in headers.items()}
    if "signature-input" in lowered:
        return _verify_rfc9421(method=method, path=path, query=query, headers=lowered, body=body,
                               fetch_public_key=fetch_public_key, now=now, max_skew=max_skew,
                               expected_host=expected_host, scheme=scheme)
    parsed = _parse_signature_header(lowered.get("signature"))
    needs_digest = bool(body) or method.upper() in BODY_METHODS
    _require_signed(parsed.headers, BODY_SIGNED_HEADERS if needs_digest else GET_SIGNED_HEADERS)
    _check_host(lowered.get("host"), expected_host)
    _check_date(lowered.get("date"), now, max_skew)
    _check_expires(parsed.expires, now)
    if needs_digest or "digest" in lowered:
        _check_digest(lowered.get("digest"), body or b"")
    actor_host = key_id_host(parsed.key_id)
    public_key = _load_verification_key(fetch_public_key(parsed.key_id))
    if parsed.algorithm == "rsa-sha256" and not isinstance(public_key, rsa.RSAPublicKey):
        raise UnsupportedAlgorithmError(detail="rsa-sha256 with a non-RSA key")
    for target in _target_candidates(path, query):
        message = _signing_string(parsed, lowered, method, target)
        if _cavage_verifies(public_key, parsed.signature, message):
            return VerifiedSignature(key_id=parsed.key_id, actor_host=actor_host, scheme=CAVAGE)
    raise BadSignatureError()


def signature_scheme(headers: Mapping[str, str]) -> str | None:
    """Return which scheme signed a request (RFC9421, CAVAGE), or None when it is unsigned."""
    names = {name.lower() for name in headers}
    if "signature-input" in names:
        return RFC9421
    return CAVAGE if "signature" in names else None


def signature_key_id(headers: Mapping[str, str]) -> str:
    """Return the key id a request claims to be signed with (no cryptography), or raise SignatureError."""
    lowered = {name.lower(): value for name, value in headers.items()}
    if "signature-input" in lowered:
        return _signature_input(lowered).key_id
    return _parse_signature_header(lowered.get("signature")).key_id


def raw_target_from_environ(environ: Mapping[str, object]) -> tuple[str, str]:
    """Return the raw ``(path, query)`` of a WSGI request, as the sender signed it."""
    # Flask's request.path is percent-decoded; signatures cover the encoded form.
    # gunicorn and werkzeug both keep the original in RAW_URI / REQUEST_URI.
    raw = environ.get("RAW_URI") or environ.get("REQUEST_URI")
    if isinstance(raw, str) and raw.startswith("/"):
        path, _, query = raw.partition("?")
        return path, query
    script = str(environ.get("SCRIPT_NAME", "")) + str(environ.get("PATH_INFO", ""))
    path = quote(script.encode("latin-1", "replace"), safe="/:@!$&'()*+,;=-._~%")
    return path or "/", str(environ.get("QUERY_STRING", ""))


class ReplayCache:
    """Remember recently seen Signature values so a captured request cannot be replayed.

    In-memory, per process, bounded and expiring: it only narrows the replay
    window cheaply. The authoritative duplicate check is the database-backed
    "activity id already processed" check in the inbox processing code, which
    also covers several worker processes. Use it for POSTs only: RSA PKCS#1
    v1.5 signatures are deterministic, so two honest identical GETs within the
    same second carry the same Signature value.
    """

    def __init__(
        self,
        max_entries: int = 10_000,
        ttl: timedelta = 2 * DEFAULT_MAX_SKEW,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        # The default TTL covers a Date up to max_skew in the future that stays
        # acceptable until max_skew after it.
        self.max_entries = max_entries
        self.ttl_seconds = ttl.total_seconds()
        self._clock = clock
        self._entries: OrderedDict[bytes, float] = OrderedDict()
        self._lock = threading.Lock()

    def seen(self, signature_value: str) -> bool:
        """Return True if this Signature value was seen within the TTL, else record it."""
        key = hashlib.sha256(signature_value.encode("utf-8", "surrogatepass")).digest()
        now = self._clock()
        with self._lock:
            self._expire(now)
            if key in self._entries:
                return True
            self._entries[key] = now + self.ttl_seconds
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)
            return False

    def __len__(self) -> int:
        """Return how many signatures are remembered (expired ones may linger until the next call)."""
        return len(self._entries)

    def _expire(self, now: float) -> None:
        """Drop entries whose TTL has passed (insertion order is expiry order)."""
        while self._entries:
            oldest_key, expires_at = next(iter(self._entries.items()))
            if expires_at > now:
                return
            del self._entries[oldest_key]


@functools.lru_cache(maxsize=16)
def _private_key(pem: bytes) -> rsa.RSAPrivateKey:
    """Load a private key once: loading validates the RSA key, which costs ~50 ms."""
    return load_private_key(pem)


def _headers_to_sign(method: str, body: bytes | None) -> tuple[str, ...]:
    """Pick the signed header list: with digest whenever there is a body."""
    if body is not None or method.upper() in BODY_METHODS:
        return BODY_SIGNED_HEADERS
    return GET_SIGNED_HEADERS


def _refuse_conflicting_host(headers: Mapping[str, str], host: str) -> None:
    """Raise ValueError if the caller set a Host other than the URL's."""
    for name, value in headers.items():
        if name.lower() == "host" and value.lower() != host:
            raise ValueError(f"Host header {value!r} does not match URL host {host!r}")


def _http_date(now: datetime | None) -> str:
    """Format ``now`` (default: the current time) as an RFC 7231 IMF-fixdate."""
    moment = _utc(now)
    return email.utils.format_datetime(moment.replace(microsecond=0), usegmt=True)


def _utc(now: datetime | None) -> datetime:
    """Return ``now`` as an aware UTC datetime; naive values are taken as UTC."""
    if now is None:
        return datetime.now(UTC)
    if now.tzinfo is None:
        return now.replace(tzinfo=UTC)
    return now.astimezone(UTC)


def _request_target(url: str) -> str:
    """Return the path-and-query part of ``url`` as it goes on the request line."""
    parts = urlsplit(url)
    path = parts.path or "/"
    return f"{path}?{parts.query}" if parts.query else path


def _format_signature(key_id: str, signed: Iterable[str], signature: bytes) -> str:
    """Assemble the Signature header value."""
    encoded = base64.b64encode(signature).decode("ascii")
    return f'keyId="{key_id}",algorithm="rsa-sha256",headers="{" ".join(signed)}",signature="{encoded}"'


def _parse_signature_header(value: str | None) -> _ParsedSignature:
    """Parse a draft-cavage Signature header value."""
    if value is None or not value.strip():
        raise MissingSignatureError()
    if len(value) > MAX_SIGNATURE_HEADER:
        raise MalformedSignatureError(detail="Signature header too long")
    params = _parse_params(value)
    key_id, signature = params.get("keyId"), params.get("signature")
    if not key_id or not signature:
        raise MalformedSignatureError(detail="keyId and signature are required")
    algorithm = params.get("algorithm", "rsa-sha256").lower()
    if algorithm not in SUPPORTED_ALGORITHMS:
        raise UnsupportedAlgorithmError(detail=f"algorithm {algorithm!r}")
    # The draft's default list is just "date", which then fails the
    # required-headers check with a clear reason.
    signed = tuple(params.get("headers", "date").lower().split())
    if not signed:
        raise MalformedSignatureError(detail="empty headers list")
    return _ParsedSignature(
        key_id, algorithm, signed, _b64decode(signature), params.get("created"), params.get("expires")
    )


# The draft's parameters. Anything else is refused rather than ignored: a mistyped
# "algorithm" must not silently fall back to the default.
KNOWN_PARAMETERS = frozenset({"keyId", "algorithm", "headers", "signature", "created", "expires"})


def _parse_params(value: str) -> dict[str, str]:
    """Split ``k="v",k2=123`` into a dict, refusing stray text, unknown and repeated keys."""
    params: dict[str, str] = {}
    pos = 0
    while pos < len(value):
        match = _PARAM.match(value, pos)
        if match is None or match.end() == pos:
            raise MalformedSignatureError(detail=f"cannot parse Signature header at offset {pos}")
        name = match.group(1)
        if name not in KNOWN_PARAMETERS:
            raise MalformedSignatureError(detail=f"unknown parameter {name!r}")
        if name in params:
            raise MalformedSignatureError(detail=f"repeated parameter {name!r}")
        params[name] = match.group(2) if match.group(2) is not None else match.group(3)
        pos = match.end()
    return params


def _b64decode(value: str) -> bytes:
    """Decode standard base64 strictly."""
    try:
        decoded = base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise MalformedSignatureError(detail="signature is not base64") from None
    if not decoded:
        raise MalformedSignatureError(detail="empty signature")
    return decoded


def _require_signed(signed: tuple[str, ...], required: tuple[str, ...]) -> None:
    """Raise HeaderNotSignedError for the first required header not covered."""
    for name in required:
        if name not in signed:
            raise HeaderNotSignedError(detail=f"{name} is not signed")


def _check_host(host: str | None, expected_host: str | None) -> None:
    """Require a Host header, equal to ``expected_host`` when one is given."""
    if not host:
        raise MalformedSignatureError(detail="signed header host is absent")
    if expected_host is not None and host.strip().lower() != expected_host.lower():
        raise HostMismatchError(detail=f"signed for {host!r}")


def _check_date(value: str | None, now: datetime | None, max_skew: timedelta) -> None:
    """Require a parsable Date within ``max_skew`` of now, in either direction."""
    if not value:
        raise DateMissingError()
    try:
        sent = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        raise DateMissingError("date_invalid", detail="Date header is not an HTTP date") from None
    if sent.tzinfo is None:
        sent = sent.replace(tzinfo=UTC)
    try:
        skew = abs(_utc(now) - sent)
    except OverflowError:
        raise DateOutOfWindowError() from None
    if skew > max_skew:
        raise DateOutOfWindowError(detail=f"Date is {skew} away from now")


def _check_expires(expires: str | None, now: datetime | None) -> None:
    """Reject a signature whose own ``expires`` parameter has passed."""
    if expires is None:
        return
    if not (expires.isascii() and expires.isdigit()):  # str.isdigit() also takes "¹", which int() refuses
        raise MalformedSignatureError(detail="expires is not a number")
    if int(expires) < _utc(now).timestamp():
        raise DateOutOfWindowError("signature_expired")


def _check_digest(value: str | None, body: bytes) -> None:
    """Require a Digest with a SHA-256 or SHA-512 entry matching ``body``."""
    if not value:
        raise DigestMissingError()
    known = {"sha-256": hashlib.sha256, "sha-512": hashlib.sha512}
    checked = False
    for entry in value.split(","):
        algorithm, sep, encoded = entry.strip().partition("=")
        hasher = known.get(algorithm.lower())
        if not sep or hasher is None:
            continue
        try:
            claimed = base64.b64decode(encoded.strip(), validate=True)
        except (binascii.Error, ValueError):
            raise DigestMismatchError(detail="Digest is not base64") from None
        if not hmac.compare_digest(claimed, hasher(body).digest()):
            raise DigestMismatchError()
        checked = True
    if not checked:
        raise DigestMismatchError("digest_unsupported", detail="no SHA-256 or SHA-512 entry in Digest")


def _load_verification_key(pem: str | bytes | None) -> VerificationKey:
    """Load the fetched PEM: an RSA or Ed25519 public key."""
    if not pem:
        raise KeyUnavailableError()
    try:
        return load_verification_key(pem)
    except ValueError as exc:
        if "neither RSA nor Ed25519" in str(exc):
            raise UnsupportedAlgorithmError(detail="public key type not supported") from None
        raise KeyUnavailableError("key_invalid", detail="public key PEM cannot be loaded") from None
    except UnsupportedAlgorithm:
        raise UnsupportedAlgorithmError(detail="public key type not supported") from None
    except (TypeError, UnicodeError):
        raise KeyUnavailableError("key_invalid", detail="public key PEM cannot be loaded") from None


def _target_candidates(path: str, query: str) -> list[str]:
    """Return the (request-target) paths to try: with the query first, then without (interop)."""
    path = path or "/"
    return [f"{path}?{query}", path] if query else [path]


def _signing_string(parsed: _ParsedSignature, headers: Mapping[str, str], method: str, target: str) -> bytes:
    """Rebuild the string the sender signed."""
    lines = []
    for name in parsed.headers:
        lines.append(f"{name}: {_signed_value(name, parsed, headers, method, target)}")
    text = "\n".join(lines)
    try:
        # WSGI servers hand header values over as latin-1 decoded wire bytes.
        return text.encode("latin-1")
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogatepass")


def _signed_value(name: str, parsed: _ParsedSignature, headers: Mapping[str, str], method: str, target: str) -> str:
    """Return the value a signed header contributes to the signing string."""
    if name == "(request-target)":
        return f"{method.lower()} {target}"
    if name in ("(created)", "(expires)"):
        value = parsed.created if name == "(created)" else parsed.expires
        if value is None:
            raise MalformedSignatureError(detail=f"{name} signed but the parameter is missing")
        return value
    value = headers.get(name)
    if value is None:
        raise MalformedSignatureError(detail=f"signed header {name} is absent")
    return value.strip()


def _cavage_verifies(public_key: VerificationKey, signature: bytes, message: bytes) -> bool:
    """Return whether ``signature`` signs ``message``: RSA PKCS#1 v1.5 SHA-256, or Ed25519 (hs2019)."""
    try:
        if isinstance(public_key, rsa.RSAPublicKey):
            public_key.verify(signature, message, padding.PKCS1v15(), hashes.SHA256())
        else:
            public_key.verify(signature, message)
    except (InvalidSignature, ValueError):
        return False
    return True


# --- RFC 9421 HTTP Message Signatures ----------------------------------------------------------

RFC9421_LABEL = "sig1"
RFC9421_GET_COMPONENTS = ("@method", "@target-uri")
RFC9421_BODY_COMPONENTS = ("@method", "@target-uri", "content-digest")
# The ``alg`` values verified, with the key type each needs. Without ``alg`` the key decides.
_RFC9421_ALGORITHMS: dict[str, tuple[type, type]] = {
    "rsa-v1_5-sha256": (algorithms.RSA_V1_5_SHA256, rsa.RSAPublicKey),
    "rsa-pss-sha512": (algorithms.RSA_PSS_SHA512, rsa.RSAPublicKey),
    "ed25519": (algorithms.ED25519, ed25519.Ed25519PublicKey),
}


@dataclass
class _Message:
    """A request as http-message-signatures reads it: method, absolute URL and headers."""

    method: str
    url: str
    headers: dict[str, str]


@dataclass(frozen=True)
class _SignatureInput:
    """The one signature of a request that is verified: its label, parameters and covered components."""

    label: str
    key_id: str
    params: dict[str, Any]
    components: frozenset[str]  # the covered components without parameters
    header: str  # Signature-Input reduced to this signature


class _Verifier(HTTPMessageVerifier):
    """The library's verifier; ``created`` and ``expires`` are checked by :func:`_check_created`."""

    def validate_created_and_expires(self, sig_input: Any, max_age: Any = None) -> None:
        """Leave the time window to the hub's own check, which takes the clock as an argument."""


def _sign_rfc9421(method: str, url: str, body: bytes | None, key_id: str, private_pem: bytes,
                  now: datetime | None) -> dict[str, str]:
    """Return Content-Digest (with a body), Signature-Input and Signature for an RFC 9421 signature."""
    message = _Message(method.upper(), url, {})
    with_digest = body is not None or method.upper() in BODY_METHODS
    resolver = MappingKeyResolver(public_keys={}, private_keys={key_id: _private_key(private_pem)})
    HTTPMessageSigner(signature_algorithm=algorithms.RSA_V1_5_SHA256, key_resolver=resolver).sign(
        message, key_id=key_id, created=_utc(now), label=RFC9421_LABEL,
        covered_component_ids=RFC9421_BODY_COMPONENTS if with_digest else RFC9421_GET_COMPONENTS,
        body=(body or b"") if with_digest else None)
    return message.headers


def _parse_dictionary(name: str, value: str | None) -> dict[str, Any]:
    """Parse a Structured Field Dictionary header (Signature-Input, Signature)."""
    if value is None or not value.strip():
        raise MissingSignatureError(detail=f"no {name} header")
    if len(value) > MAX_SIGNATURE_HEADER:
        raise MalformedSignatureError(detail=f"{name} header too long")
    try:
        parsed = http_sf.parse(value.encode("latin-1"), tltype="dictionary")
    except (ValueError, TypeError, UnicodeError, IndexError, KeyError):
        raise MalformedSignatureError(detail=f"{name} is not a structured dictionary") from None
    if not isinstance(parsed, dict) or not parsed:
        raise MalformedSignatureError(detail=f"{name} is empty")
    return parsed


def _signature_input(headers: Mapping[str, str]) -> _SignatureInput:
    """Pick the signature to verify: the first one whose keyid is an http(s) URL."""
    inputs = _parse_dictionary("Signature-Input", headers.get("signature-input"))
    for label, member in inputs.items():
        covered, params = member
        key_id = params.get("keyid")
        if not isinstance(covered, list) or not isinstance(key_id, str):
            continue
        if not key_id.lower().startswith(("https://", "http://")):
            continue
        components = frozenset(name for name, item_params in covered if isinstance(name, str) and not item_params)
        return _SignatureInput(label, key_id, dict(params), components, http_sf.ser({label: member}))
    raise MalformedSignatureError(detail="no signature with an http(s) keyid")


def _signature_value(headers: Mapping[str, str], label: str) -> str:
    """Return the Signature header reduced to the member ``label``."""
    member = _parse_dictionary("Signature", headers.get("signature")).get(label)
    if member is None or not isinstance(member[0], bytes) or not member[0]:
        raise MalformedSignatureError(detail=f"no signature bytes for {label}")
    return http_sf.ser({label: member})


def _require_rfc9421_coverage(chosen: _SignatureInput, needs_digest: bool) -> None:
    """Require the method, the target (whole URI, or authority and path) and any body's digest to be signed."""
    covered = chosen.components
    if "@method" not in covered:
        raise HeaderNotSignedError(detail="@method is not signed")
    if "@target-uri" not in covered and not ("@authority" in covered and covered & {"@path", "@request-target"}):
        raise HeaderNotSignedError(detail="@target-uri is not signed")
    if needs_digest and "content-digest" not in covered:
        raise HeaderNotSignedError(detail="content-digest is not signed")


def _check_created(params: Mapping[str, Any], now: datetime | None, max_skew: timedelta) -> None:
    """Require ``created`` within ``max_skew`` of now, and an ``expires`` (if any) not passed."""
    created, expires = params.get("created"), params.get("expires")
    if type(created) is not int:
        raise DateMissingError("created_missing", detail="the signature has no created time")
    moment = _utc(now).timestamp()
    if abs(moment - created) > max_skew.total_seconds():
        raise DateOutOfWindowError(detail="created is too far from now")
    if expires is not None and (type(expires) is not int or expires < moment):
        raise DateOutOfWindowError("signature_expired")


def _check_content_digest(value: str | None, body: bytes) -> None:
    """Require a Content-Digest (RFC 9530, SHA-256 or SHA-512) matching ``body``."""
    if not value:
        raise DigestMissingError()
    try:
        ContentDigest.verify(value, body)
    except HTTPMessageSignaturesException as error:
        reason = "digest_mismatch" if "does not match" in str(error) else "digest_unsupported"
        raise DigestMismatchError(reason, detail="Content-Digest does not match the body") from None


def _rfc9421_algorithm(params: Mapping[str, Any], key: VerificationKey) -> type:
    """Return the library's algorithm for the signature's ``alg`` (or, without one, the key's type)."""
    alg = params.get("alg")
    if alg is None:
        alg = "ed25519" if isinstance(key, ed25519.Ed25519PublicKey) else "rsa-v1_5-sha256"
    entry = _RFC9421_ALGORITHMS.get(alg) if isinstance(alg, str) else None
    if entry is None or not isinstance(key, entry[1]):
        raise UnsupportedAlgorithmError(detail=f"alg {alg!r} with this key")
    return entry[0]


def _verify_rfc9421(*, method: str, path: str, query: str, headers: Mapping[str, str], body: bytes | None,
                    fetch_public_key: Callable[[str], str | None], now: datetime | None, max_skew: timedelta,
                    expected_host: str | None, scheme: str) -> VerifiedSignature:
    """Verify an RFC 9421 signature; ``headers`` have lower-case names."""
    chosen = _signature_input(headers)
    signature_header = _signature_value(headers, chosen.label)
    needs_digest = bool(body) or method.upper() in BODY_METHODS
    _require_rfc9421_coverage(chosen, needs_digest)
    host = headers.get("host")
    _check_host(host, expected_host)
    _check_created(chosen.params, now, max_skew)
    if needs_digest or "content-digest" in headers:
        _check_content_digest(headers.get("content-digest"), body or b"")
    actor_host = key_id_host(chosen.key_id)
    key = _load_verification_key(fetch_public_key(chosen.key_id))
    verifier = _Verifier(signature_algorithm=_rfc9421_algorithm(chosen.params, key),
                         key_resolver=MappingKeyResolver(public_keys={chosen.key_id: key}, private_keys={}))
    only_this = {**headers, "signature-input": chosen.header, "signature": signature_header}
    for target in _target_candidates(path, query):
        message = _Message(method.upper(), f"{scheme}://{(host or '').strip().lower()}{target}", only_this)
        try:
            verifier.verify(message, max_age=None, body=(body or b"") if needs_digest else None)
        except HTTPMessageSignaturesException:
            continue
        return VerifiedSignature(key_id=chosen.key_id, actor_host=actor_host, scheme=RFC9421)
    raise BadSignatureError()
