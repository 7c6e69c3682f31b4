"""HTTP Signatures: sign/verify round trips, every rejection reason, replay cache, fuzzing."""
from __future__ import annotations

import base64
import contextlib
import os
import pathlib
import re
import stat
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hub.federation import keys
from hub.federation import signatures as sig

ACTOR = "https://peer.example/users/alice"
KEY_ID = ACTOR + "#main-key"
INBOX = "https://hub.example/inbox"
NOW = datetime(2026, 3, 4, 12, 0, 0, tzinfo=UTC)
BODY = b'{"type": "Create", "id": "https://peer.example/activities/1"}'
FUZZ = settings(max_examples=150, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.fixture(scope="module")
def keypair() -> tuple[bytes, bytes]:
    """Generate one key pair for the whole module (RSA generation is the slow part)."""
    return keys.generate_keypair()


@pytest.fixture(scope="module")
def other_keypair() -> tuple[bytes, bytes]:
    """Generate a second, unrelated key pair."""
    return keys.generate_keypair()


def _sign(keypair, method="POST", url=INBOX, body=BODY, now=NOW, key_id=KEY_ID) -> dict[str, str]:
    """Sign a request with the module key and return all its headers."""
    added = sig.sign_request(
        method=method, url=url, headers={}, body=body, key_id=key_id, private_key_pem=keypair[0], now=now
    )
    return {"Content-Type": "application/activity+json", **added}


def _verify(keypair, headers, method="POST", path="/inbox", query="", body=BODY, now=NOW, **kwargs):
    """Verify a request against the module's public key."""
    public_pem = keypair[1].decode()
    return sig.verify_request(
        method=method,
        path=path,
        query=query,
        headers=headers,
        body=body,
        fetch_public_key=lambda key_id: public_pem if key_id == KEY_ID else None,
        now=now,
        **kwargs,
    )


def _custom_signature(keypair, names: list[str], values: dict[str, str], algorithm="rsa-sha256") -> str:
    """Build a Signature header over an arbitrary header list (to craft incomplete signatures)."""
    message = "\n".join(f"{name}: {values[name]}" for name in names).encode()
    private_key = keys.load_private_key(keypair[0])
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    raw = private_key.sign(message, padding.PKCS1v15(), hashes.SHA256())
    encoded = base64.b64encode(raw).decode()
    return f'keyId="{KEY_ID}",algorithm="{algorithm}",headers="{" ".join(names)}",signature="{encoded}"'


# --- round trips -----------------------------------------------------------


def test_post_round_trip(keypair):
    headers = _sign(keypair)
    result = _verify(keypair, headers)
    assert result == sig.VerifiedSignature(key_id=KEY_ID, actor_host="peer.example")
    assert 'headers="(request-target) host date digest"' in headers["Signature"]


def test_get_round_trip_signs_no_digest(keypair):
    headers = _sign(keypair, method="GET", url=ACTOR, body=None)
    assert "Digest" not in headers
    assert 'headers="(request-target) host date"' in headers["Signature"]
    assert _verify(keypair, headers, method="GET", path="/users/alice", body=b"").key_id == KEY_ID


def test_sign_request_headers_are_well_formed(keypair):
    headers = _sign(keypair, url="https://Hub.Example:8443/inbox", now=datetime(2024, 1, 2, 3, 4, 5))
    assert headers["Host"] == "hub.example:8443"
    assert headers["Date"] == "Tue, 02 Jan 2024 03:04:05 GMT"
    assert headers["Digest"] == sig.digest_header(BODY)


def test_default_port_is_left_out_of_host(keypair):
    assert _sign(keypair, url="https://hub.example:443/inbox")["Host"] == "hub.example"


def test_digest_header_known_vector():
    assert sig.digest_header(b"") == "SHA-256=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="


def test_header_names_are_case_insensitive(keypair):
    headers = {name.upper(): value for name, value in _sign(keypair).items()}
    assert _verify(keypair, headers).key_id == KEY_ID
    lower = {name.lower(): value for name, value in _sign(keypair).items()}
    assert _verify(keypair, lower).key_id == KEY_ID


def test_hs2019_is_treated_as_rsa_sha256(keypair):
    headers = _sign(keypair)
    headers["Signature"] = headers["Signature"].replace('algorithm="rsa-sha256"', 'algorithm="hs2019"')
    assert _verify(keypair, headers).key_id == KEY_ID


def test_absent_algorithm_defaults_to_rsa(keypair):
    headers = _sign(keypair)
    headers["Signature"] = headers["Signature"].replace('algorithm="rsa-sha256",', "")
    assert _verify(keypair, headers).key_id == KEY_ID


def test_lowercase_sha256_digest_prefix_accepted(keypair):
    headers = _sign(keypair)
    values = {
        "(request-target)": "post /inbox",
        "host": headers["Host"],
        "date": headers["Date"],
        "digest": headers["Digest"].replace("SHA-256", "sha-256"),
    }
    headers["Digest"] = values["digest"]
    headers["Signature"] = _custom_signature(keypair, list(values), values)
    assert _verify(keypair, headers).key_id == KEY_ID


# --- query string interop --------------------------------------------------


def test_request_target_with_query_verifies(keypair):
    headers = _sign(keypair, method="GET", url=ACTOR + "?page=2", body=None)
    assert _verify(keypair, headers, method="GET", path="/users/alice", query="page=2", body=None)


def test_request_target_signed_without_query_is_accepted(keypair):
    # Some peers (bovine's verifier among them) leave the query out of (request-target).
    headers = _sign(keypair, method="GET", url=ACTOR, body=None)
    assert _verify(keypair, headers, method="GET", path="/users/alice", query="page=2", body=None)


def test_wrong_path_is_a_bad_signature(keypair):
    headers = _sign(keypair)
    with pytest.raises(sig.BadSignatureError) as info:
        _verify(keypair, headers, path="/users/bob/inbox")
    assert info.value.reason_code == "signature_mismatch"


# --- tampering -------------------------------------------------------------


def test_tampered_body_is_a_digest_error(keypair):
    headers = _sign(keypair)
    with pytest.raises(sig.DigestMismatchError) as info:
        _verify(keypair, headers, body=BODY.replace(b"Create", b"Delete"))
    assert info.value.reason_code == "digest_mismatch"


def test_tampered_digest_header_is_a_bad_signature(keypair):
    tampered = BODY + b" "
    headers = _sign(keypair)
    headers["Digest"] = sig.digest_header(tampered)
    with pytest.raises(sig.BadSignatureError):
        _verify(keypair, headers, body=tampered)


def test_tampered_host_is_a_bad_signature(keypair):
    headers = _sign(keypair)
    headers["Host"] = "evil.example"
    with pytest.raises(sig.BadSignatureError):
        _verify(keypair, headers)


def test_tampered_date_is_a_bad_signature(keypair):
    headers = _sign(keypair)
    headers["Date"] = "Wed, 04 Mar 2026 12:00:01 GMT"
    with pytest.raises(sig.BadSignatureError):
        _verify(keypair, headers)


def test_other_key_is_a_bad_signature(keypair, other_keypair):
    headers = _sign(other_keypair)
    with pytest.raises(sig.BadSignatureError):
        _verify(keypair, headers)


def test_corrupted_signature_bytes_is_a_bad_signature(keypair):
    headers = _sign(keypair)
    headers["Signature"] = headers["Signature"].replace('signature="', 'signature="AAAA', 1)
    with pytest.raises(sig.BadSignatureError):
        _verify(keypair, headers)


# --- dates -----------------------------------------------------------------


@pytest.mark.parametrize("offset", [timedelta(hours=-2), timedelta(minutes=-61), timedelta(days=-400)])
def test_old_date_is_rejected(keypair, offset):
    headers = _sign(keypair, now=NOW + offset)
    with pytest.raises(sig.DateOutOfWindowError) as info:
        _verify(keypair, headers)
    assert info.value.reason_code == "date_out_of_window"


@pytest.mark.parametrize("offset", [timedelta(minutes=61), timedelta(hours=5)])
def test_future_date_beyond_window_is_rejected(keypair, offset):
    with pytest.raises(sig.DateOutOfWindowError):
        _verify(keypair, _sign(keypair, now=NOW + offset))


@pytest.mark.parametrize("offset", [timedelta(minutes=-59), timedelta(minutes=59), timedelta(seconds=0)])
def test_skew_under_an_hour_is_accepted(keypair, offset):
    assert _verify(keypair, _sign(keypair, now=NOW + offset)).key_id == KEY_ID


def test_custom_max_skew(keypair):
    headers = _sign(keypair, now=NOW - timedelta(minutes=10))
    with pytest.raises(sig.DateOutOfWindowError):
        _verify(keypair, headers, max_skew=timedelta(minutes=5))


def test_missing_date_is_rejected(keypair):
    headers = _sign(keypair)
    del headers["Date"]
    with pytest.raises(sig.DateMissingError) as info:
        _verify(keypair, headers)
    assert info.value.reason_code == "date_missing"


def test_unparsable_date_is_rejected(keypair):
    headers = _sign(keypair)
    headers["Date"] = "yesterday-ish"
    with pytest.raises(sig.DateMissingError) as info:
        _verify(keypair, headers)
    assert info.value.reason_code == "date_invalid"


def test_expired_expires_parameter_is_rejected(keypair):
    headers = _sign(keypair)
    headers["Signature"] += f',expires="{int(NOW.timestamp()) - 1}"'
    with pytest.raises(sig.DateOutOfWindowError) as info:
        _verify(keypair, headers)
    assert info.value.reason_code == "signature_expired"


# --- required headers and digests -------------------------------------------


def test_missing_digest_on_post_is_rejected(keypair):
    headers = _sign(keypair)
    del headers["Digest"]
    with pytest.raises(sig.DigestMissingError) as info:
        _verify(keypair, headers)
    assert info.value.reason_code == "digest_missing"


def test_post_without_signed_digest_is_rejected(keypair):
    headers = _sign(keypair)
    values = {"(request-target)": "post /inbox", "host": headers["Host"], "date": headers["Date"]}
    headers["Signature"] = _custom_signature(keypair, list(values), values)
    with pytest.raises(sig.HeaderNotSignedError) as info:
        _verify(keypair, headers)
    assert "digest" in str(info.value)


def test_unsigned_host_is_rejected(keypair):
    headers = _sign(keypair, method="GET", url=ACTOR, body=None)
    values = {"(request-target)": "get /users/alice", "date": headers["Date"]}
    headers["Signature"] = _custom_signature(keypair, list(values), values)
    with pytest.raises(sig.HeaderNotSignedError) as info:
        _verify(keypair, headers, method="GET", path="/users/alice", body=None)
    assert info.value.reason_code == "header_not_signed"


@pytest.mark.parametrize("left_out", ["(request-target)", "date"])
def test_unsigned_target_or_date_is_rejected(keypair, left_out):
    headers = _sign(keypair, method="GET", url=ACTOR, body=None)
    values = {"(request-target)": "get /users/alice", "host": headers["Host"], "date": headers["Date"]}
    del values[left_out]
    headers["Signature"] = _custom_signature(keypair, list(values), values)
    with pytest.raises(sig.HeaderNotSignedError):
        _verify(keypair, headers, method="GET", path="/users/alice", body=None)


def test_signature_with_default_headers_list_is_rejected(keypair):
    headers = _sign(keypair)
    headers["Signature"] = headers["Signature"].replace('headers="(request-target) host date digest",', "")
    with pytest.raises(sig.HeaderNotSignedError):
        _verify(keypair, headers)


def test_get_with_unexpected_body_requires_digest(keypair):
    headers = _sign(keypair, method="GET", url=ACTOR, body=None)
    with pytest.raises(sig.HeaderNotSignedError):
        _verify(keypair, headers, method="GET", path="/users/alice", body=b"smuggled")


def test_digest_with_unknown_algorithm_only_is_rejected(keypair):
    headers = _sign(keypair)
    headers["Digest"] = "MD5=" + base64.b64encode(b"x" * 16).decode()
    with pytest.raises(sig.DigestMismatchError) as info:
        _verify(keypair, headers)
    assert info.value.reason_code == "digest_unsupported"


def test_expected_host_mismatch_is_rejected(keypair):
    headers = _sign(keypair)
    assert _verify(keypair, headers, expected_host="HUB.example").key_id == KEY_ID
    with pytest.raises(sig.HostMismatchError):
        _verify(keypair, headers, expected_host="other.example")


# --- Signature header and key problems ------------------------------------------


def test_missing_signature_header(keypair):
    headers = _sign(keypair)
    del headers["Signature"]
    with pytest.raises(sig.MissingSignatureError) as info:
        _verify(keypair, headers)
    assert info.value.reason_code == "signature_missing"


@pytest.mark.parametrize(
    "value",
    [
        "garbage",
        'keyId="https://peer.example/a#k"',
        'keyId="https://peer.example/a#k",keyId="x",signature="AAAA"',
        'keyId="https://peer.example/a#k",headers="date",signature="not base64!"',
        'keyId="https://peer.example/a#k" signature="AAAA"',
    ],
)
def test_malformed_signature_header(keypair, value):
    headers = _sign(keypair)
    headers["Signature"] = value
    with pytest.raises(sig.MalformedSignatureError):
        _verify(keypair, headers)


def test_unsupported_algorithm(keypair):
    headers = _sign(keypair)
    headers["Signature"] = headers["Signature"].replace("rsa-sha256", "hmac-sha256")
    with pytest.raises(sig.UnsupportedAlgorithmError) as info:
        _verify(keypair, headers)
    assert info.value.reason_code == "algorithm_unsupported"


def test_non_rsa_key_is_unsupported(keypair):
    ed_pem = (
        ed25519.Ed25519PrivateKey.generate()
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    with pytest.raises(sig.UnsupportedAlgorithmError):
        sig.verify_request(
            method="POST", path="/inbox", query="", headers=_sign(keypair), body=BODY,
            fetch_public_key=lambda _key_id: ed_pem.decode(), now=NOW,
        )


@pytest.mark.parametrize("fetched", [None, "", "-----BEGIN PUBLIC KEY-----\nnope\n-----END PUBLIC KEY-----\n"])
def test_unavailable_or_broken_key(keypair, fetched):
    with pytest.raises(sig.KeyUnavailableError):
        sig.verify_request(
            method="POST", path="/inbox", query="", headers=_sign(keypair), body=BODY,
            fetch_public_key=lambda _key_id: fetched, now=NOW,
        )


def test_key_fetch_errors_propagate(keypair):
    class UnreachableError(Exception):
        pass

    def fetch(_key_id: str) -> str:
        raise UnreachableError()

    with pytest.raises(UnreachableError):
        sig.verify_request(
            method="POST", path="/inbox", query="", headers=_sign(keypair), body=BODY,
            fetch_public_key=fetch, now=NOW,
        )


def test_every_error_is_a_signature_error_with_a_reason():
    for cls in sig.SignatureError.__subclasses__():
        assert issubclass(cls, sig.SignatureError)
        assert cls().reason_code and cls().reason_code != sig.SignatureError.reason_code
    assert sig.SignatureError("custom").reason_code == "custom"


# --- key ids ---------------------------------------------------------------------


def test_key_id_helpers():
    assert sig.key_id_host("https://Peer.Example/users/a#main-key") == "peer.example"
    assert sig.key_id_host("https://peer.example:443/a#k") == "peer.example"
    assert sig.key_id_host("http://peer.example:8080/a#k") == "peer.example:8080"
    assert sig.actor_id_from_key_id(KEY_ID) == ACTOR


@pytest.mark.parametrize(
    "key_id",
    ["https://peer.example/users/a", "https://peer.example/users/a#", "ftp://peer.example/a#k",
     "/users/a#k", "https://[::1/a#k", 'https://peer.example/a"#k', "https://peer.example:99999/a#k"],
)
def test_bad_key_ids_are_refused(key_id):
    with pytest.raises(sig.InvalidKeyIdError):
        sig.actor_id_from_key_id(key_id)


def test_sign_request_refuses_key_id_without_fragment(keypair):
    with pytest.raises(sig.InvalidKeyIdError):
        _sign(keypair, key_id=ACTOR)


def test_sign_request_refuses_conflicting_host(keypair):
    with pytest.raises(ValueError):
        sig.sign_request(
            method="GET", url=ACTOR, headers={"host": "elsewhere.example"}, body=None,
            key_id=KEY_ID, private_key_pem=keypair[0],
        )


def test_raw_target_from_environ():
    assert sig.raw_target_from_environ({"RAW_URI": "/users/a%20b?page=1"}) == ("/users/a%20b", "page=1")
    assert sig.raw_target_from_environ({"PATH_INFO": "/users/a b", "QUERY_STRING": "x=1"}) == ("/users/a%20b", "x=1")


# --- replay cache ---------------------------------------------------------------


class FakeClock:
    """A settable monotonic clock."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_replay_cache_detects_repeats():
    cache = sig.ReplayCache()
    assert cache.seen("sig-a") is False
    assert cache.seen("sig-a") is True
    assert cache.seen("sig-b") is False


def test_replay_cache_entries_expire():
    clock = FakeClock()
    cache = sig.ReplayCache(ttl=timedelta(seconds=60), clock=clock)
    assert cache.seen("sig-a") is False
    clock.now += 59
    assert cache.seen("sig-a") is True
    clock.now += 61
    assert cache.seen("sig-a") is False


def test_replay_cache_is_bounded():
    cache = sig.ReplayCache(max_entries=3)
    for value in ["a", "b", "c", "d"]:
        assert cache.seen(value) is False
    assert len(cache) == 3
    assert cache.seen("a") is False  # the oldest was evicted


def test_replay_cache_catches_a_replayed_request(keypair):
    cache = sig.ReplayCache()
    headers = _sign(keypair)
    _verify(keypair, headers)
    assert cache.seen(headers["Signature"]) is False
    _verify(keypair, headers)  # the signature itself is still valid...
    assert cache.seen(headers["Signature"]) is True  # ...so the cache is what stops it


# --- keys ------------------------------------------------------------------------


def test_load_or_create_keypair_writes_0600_once(tmp_path: pathlib.Path):
    path = tmp_path / "keys" / "instance.pem"
    private_pem, public_pem = keys.load_or_create_keypair(path)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert path.read_bytes() == private_pem
    assert keys.load_or_create_keypair(path) == (private_pem, public_pem)
    assert keys.load_public_key(public_pem).key_size == 2048
    assert [p.name for p in path.parent.iterdir()] == ["instance.pem"]  # no temp files left


def test_keys_refuse_non_rsa():
    ed = ed25519.Ed25519PrivateKey.generate()
    pem = ed.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    with pytest.raises(ValueError):
        keys.load_private_key(pem)


# --- fuzzing: nothing but SignatureError escapes -----------------------------------

_text = st.text(max_size=200)
_param_value = st.one_of(
    _text.filter(lambda s: '"' not in s).map(lambda s: f'"{s}"'),
    st.integers(min_value=0, max_value=2**70).map(str),
    st.binary(max_size=300).map(lambda b: '"' + base64.b64encode(b).decode() + '"'),
)
_param_name = st.sampled_from(["keyId", "algorithm", "headers", "signature", "created", "expires", "x"])
_header_list = st.tuples(
    st.sampled_from(["(request-target) host date digest", "(request-target) host date", ""]),
    st.lists(
        st.sampled_from(["(request-target)", "host", "date", "digest", "(created)", "(expires)", "accept"]), max_size=4
    ),
).map(lambda parts: '"' + " ".join([parts[0], *parts[1]]).strip() + '"')
_base64_value = st.binary(min_size=1, max_size=300).map(lambda b: '"' + base64.b64encode(b).decode() + '"')
_structured_signature = st.fixed_dictionaries(
    {
        "keyId": st.one_of(st.sampled_from([f'"{KEY_ID}"', '"https://x/#k"', '"x"']), _param_value),
        "signature": st.one_of(_base64_value, _param_value),
        "headers": st.one_of(_header_list, _header_list, _param_value),
    },
    optional={
        "algorithm": st.sampled_from(['"rsa-sha256"', '"hs2019"', '"RSA-SHA256"', '"ed25519"']),
        "created": _param_value,
        "expires": _param_value,
        "x": _param_value,
    },
).map(lambda params: ",".join(f"{k}={v}" for k, v in params.items()))


def _fuzz_verify(keypair, headers, body, method="POST", fetched=None):
    """Run verify_request and allow only SignatureError out."""
    pem = keypair[1].decode() if fetched is None else fetched
    with contextlib.suppress(sig.SignatureError):
        sig.verify_request(
            method=method, path="/inbox", query="a=1", headers=headers, body=body,
            fetch_public_key=lambda _key_id: pem, now=NOW,
        )


@FUZZ
@given(value=st.one_of(_text, _structured_signature), body=st.one_of(st.none(), st.binary(max_size=300)))
def test_fuzz_signature_header_and_body(keypair, value, body):
    headers = _sign(keypair)
    headers["Signature"] = value
    _fuzz_verify(keypair, headers, body)


@FUZZ
@given(
    headers=st.dictionaries(
        st.sampled_from(["Signature", "signature", "Date", "Digest", "Host", "X-Other"]), _text, max_size=5
    ),
    body=st.one_of(st.none(), st.binary(max_size=100)),
    method=st.sampled_from(["GET", "POST", "PUT", "get", "DELETE", ""]),
    fetched=st.one_of(st.none(), _text),
)
def test_fuzz_arbitrary_headers(keypair, headers, body, method, fetched):
    _fuzz_verify(keypair, headers, body, method=method, fetched=fetched)


@FUZZ
@given(body=st.binary(max_size=500), mutation=st.tuples(st.sampled_from(["Date", "Digest", "Host"]), _text))
def test_fuzz_mutated_valid_request(keypair, body, mutation):
    headers = _sign(keypair, body=body)
    name, value = mutation
    headers[name] = value
    _fuzz_verify(keypair, headers, body)


@FUZZ
@given(
    name=st.sampled_from(["keyId", "algorithm", "headers", "signature", "created", "expires"]),
    value=st.one_of(_param_value, _header_list, _base64_value),
    method=st.sampled_from(["POST", "GET"]),
)
def test_fuzz_one_parameter_of_a_valid_signature(keypair, name, value, method):
    headers = _sign(keypair, method=method, body=BODY if method == "POST" else None)
    params = {k: f'"{v}"' for k, v in re.findall(r'(\w+)="([^"]*)"', headers["Signature"])}
    params[name] = value
    headers["Signature"] = ",".join(f"{k}={v}" for k, v in params.items())
    _fuzz_verify(keypair, headers, BODY if method == "POST" else None, method=method)


@pytest.mark.parametrize("expires", ["\u00b9", "\u0663", "12\uff13"])
def test_an_expires_of_other_digits_is_a_malformed_signature_not_an_error(keypair, expires):
    """str.isdigit() takes superscripts and other scripts' digits, which int() refuses (a 500 before)."""
    headers = _sign(keypair)
    headers["Signature"] += f',expires="{expires}"'
    with pytest.raises(sig.MalformedSignatureError):
        sig.verify_request(method="POST", path="/inbox", query="a=1", headers=headers, body=BODY,
                           fetch_public_key=lambda _key_id: keypair[1].decode(), now=NOW)


def test_a_mistyped_parameter_is_refused_not_ignored():
    with pytest.raises(sig.MalformedSignatureError):
        sig._parse_signature_header('keyId="https://a.example/actor#k",a0gorithm="x",headers="date",signature="AAAA"')
