"""RFC 9421 HTTP Message Signatures: round trips, what must be covered, every rejection reason, fuzzing."""
from __future__ import annotations

import base64
import contextlib
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from http_message_signatures import ContentDigest, HTTPMessageSigner, MappingKeyResolver, algorithms
from hypothesis import given
from hypothesis import strategies as st

from hub.federation import keys
from hub.federation import signatures as sig

# The same request, key and clock as the draft-cavage tests.
from tests.unit.test_signatures import BODY, FUZZ, INBOX, KEY_ID, NOW, keypair  # noqa: F401  (a fixture)


@dataclass
class Message:
    """A request as http-message-signatures reads it."""

    method: str
    url: str
    headers: dict[str, str] = field(default_factory=dict)


def _sign(keypair, method="POST", url=INBOX, body=BODY, now=NOW) -> dict[str, str]:
    return sig.sign_request(method=method, url=url, headers={}, body=body, key_id=KEY_ID,
                            private_key_pem=keypair[0], now=now, scheme=sig.RFC9421)


def _library_sign(private_key, components, *, algorithm=algorithms.RSA_V1_5_SHA256, body=BODY, url=INBOX,
                  method="POST", created=NOW, key_id=KEY_ID, **kwargs) -> dict[str, str]:
    """Sign with the library directly, covering exactly ``components`` (to craft odd signatures)."""
    message = Message(method, url, {"Host": "hub.example"})
    resolver = MappingKeyResolver(public_keys={}, private_keys={key_id: private_key})
    # Given the body, the library covers the digest itself; left out, the digest is sent unsigned.
    signed_body = body if "content-digest" in components else None
    HTTPMessageSigner(signature_algorithm=algorithm, key_resolver=resolver).sign(
        message, key_id=key_id, created=created, covered_component_ids=components, body=signed_body, **kwargs)
    if signed_body is None and body is not None:
        message.headers["Content-Digest"] = ContentDigest.create(body)
    return message.headers


def _verify(public_pem, headers, method="POST", path="/inbox", query="", body=BODY, now=NOW, **kwargs):
    pem = public_pem.decode() if isinstance(public_pem, bytes) else public_pem
    return sig.verify_request(method=method, path=path, query=query, headers=headers, body=body,
                              fetch_public_key=lambda key_id: pem if key_id == KEY_ID else None, now=now, **kwargs)


def _refused(reason, public_pem, headers, **kwargs):
    with pytest.raises(sig.SignatureError) as info:
        _verify(public_pem, headers, **kwargs)
    assert info.value.reason_code == reason, info.value


# --- round trips ------------------------------------------------------------------------------

def test_post_round_trip_covers_method_target_and_digest(keypair):
    headers = _sign(keypair)
    assert headers["Signature-Input"].startswith('sig1=("@method" "@target-uri" "content-digest");created=')
    assert f'keyid="{KEY_ID}"' in headers["Signature-Input"] and 'alg="rsa-v1_5-sha256"' in headers["Signature-Input"]
    assert headers["Content-Digest"].startswith("sha-256=:") and headers["Host"] == "hub.example"
    verified = _verify(keypair[1], headers, expected_host="hub.example")
    assert (verified.key_id, verified.actor_host, verified.scheme) == (KEY_ID, "peer.example", sig.RFC9421)


def test_get_round_trip_with_a_query_and_no_digest(keypair):
    headers = _sign(keypair, method="GET", url="https://hub.example/outbox?page=2", body=None)
    assert "Content-Digest" not in headers and '("@method" "@target-uri")' in headers["Signature-Input"]
    assert _verify(keypair[1], headers, method="GET", path="/outbox", query="page=2", body=b"").scheme == "rfc9421"


def test_the_key_id_is_read_without_cryptography(keypair):
    headers = _sign(keypair)
    assert sig.signature_key_id(headers) == KEY_ID
    assert sig.signature_scheme(headers) == sig.RFC9421
    assert sig.signature_scheme({"Signature": "x"}) == sig.CAVAGE and sig.signature_scheme({}) is None


def test_authority_and_path_stand_for_the_target_uri(keypair):
    private = keys.load_private_key(keypair[0])
    headers = _library_sign(private, ("@method", "@authority", "@path", "content-digest"))
    assert _verify(keypair[1], headers).scheme == "rfc9421"


def test_rsa_pss_and_ed25519_signatures_verify(keypair):
    private = keys.load_private_key(keypair[0])
    headers = _library_sign(private, ("@method", "@target-uri", "content-digest"), algorithm=algorithms.RSA_PSS_SHA512)
    assert _verify(keypair[1], headers).scheme == "rfc9421"
    ed = ed25519.Ed25519PrivateKey.generate()
    ed_pem = ed.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    headers = _library_sign(ed, ("@method", "@target-uri", "content-digest"), algorithm=algorithms.ED25519)
    assert _verify(ed_pem, headers).scheme == "rfc9421"


def test_of_several_signatures_the_one_with_an_http_key_id_is_verified(keypair):
    private = keys.load_private_key(keypair[0])
    message = Message("POST", INBOX, {"Host": "hub.example"})
    signer = HTTPMessageSigner(signature_algorithm=algorithms.RSA_V1_5_SHA256, key_resolver=MappingKeyResolver(
        public_keys={}, private_keys={"proxy-key": private, KEY_ID: private}))
    signer.sign(message, key_id="proxy-key", created=NOW, label="proxy", covered_component_ids=("@method",))
    signer.sign(message, key_id=KEY_ID, created=NOW, label="actor", append_if_signature_exists=True,
                covered_component_ids=("@method", "@target-uri", "content-digest"), body=BODY,
                use_existing_digest=False)
    assert sig.signature_key_id(message.headers) == KEY_ID
    assert _verify(keypair[1], message.headers).key_id == KEY_ID


# --- refusals ---------------------------------------------------------------------------------

def test_a_changed_body_is_a_digest_mismatch(keypair):
    _refused("digest_mismatch", keypair[1], _sign(keypair), body=BODY + b" ")


def test_a_signature_by_another_key_does_not_verify(keypair):
    _refused("signature_mismatch", keypair[1], _sign((keys.generate_keypair()[0], None)))


@pytest.mark.parametrize("path, query", [("/other", ""), ("/inbox", "x=1")])
def test_another_target_does_not_verify(keypair, path, query):
    headers = _sign(keypair)
    if query:  # a query the sender did not sign is tolerated like draft-cavage's, a different path is not
        assert _verify(keypair[1], headers, path=path, query=query).scheme == "rfc9421"
    else:
        _refused("signature_mismatch", keypair[1], headers, path=path)


def test_a_signature_for_another_scheme_does_not_verify(keypair):
    _refused("signature_mismatch", keypair[1], _sign(keypair), scheme="http")


def test_a_request_signed_for_another_host_is_refused(keypair):
    _refused("host_mismatch", keypair[1], _sign(keypair), expected_host="other.example")


@pytest.mark.parametrize("components, reason", [
    (("@target-uri", "content-digest"), "header_not_signed"),
    (("@method", "content-digest"), "header_not_signed"),
    (("@method", "@path", "content-digest"), "header_not_signed"),
    (("@method", "@target-uri"), "header_not_signed"),
])
def test_what_must_be_covered(keypair, components, reason):
    private = keys.load_private_key(keypair[0])
    _refused(reason, keypair[1], _library_sign(private, components))


@pytest.mark.parametrize("offset", [timedelta(hours=-2), timedelta(hours=2)])
def test_created_outside_the_window_is_refused(keypair, offset):
    _refused("date_out_of_window", keypair[1], _sign(keypair, now=NOW + offset))


def test_a_signature_without_created_is_refused(keypair):
    headers = _sign(keypair)
    headers["Signature-Input"] = headers["Signature-Input"].replace(f";created={int(NOW.timestamp())}", "")
    _refused("created_missing", keypair[1], headers)


def test_an_expired_signature_is_refused(keypair):
    private = keys.load_private_key(keypair[0])
    headers = _library_sign(private, ("@method", "@target-uri", "content-digest"), expires=NOW - timedelta(minutes=1))
    _refused("signature_expired", keypair[1], headers)


def test_an_alg_that_does_not_fit_the_key_is_refused(keypair):
    headers = _sign(keypair)
    headers["Signature-Input"] = headers["Signature-Input"].replace("rsa-v1_5-sha256", "ed25519")
    _refused("algorithm_unsupported", keypair[1], headers)


def test_a_missing_digest_is_refused(keypair):
    headers = _sign(keypair)
    del headers["Content-Digest"]
    _refused("digest_missing", keypair[1], headers)


@pytest.mark.parametrize("signature_input", ["", "sig1", 'sig1=("@method");keyid="not-a-url"', "sig1=(", "a=1,a=2"])
def test_unreadable_signature_input_is_malformed(keypair, signature_input):
    headers = _sign(keypair)
    headers["Signature-Input"] = signature_input
    with pytest.raises(sig.SignatureError) as info:
        _verify(keypair[1], headers)
    assert info.value.reason_code in ("signature_malformed", "signature_missing")


def test_a_signature_input_without_its_signature_is_malformed(keypair):
    headers = _sign(keypair)
    headers["Signature"] = "other=:AAAA:"
    _refused("signature_malformed", keypair[1], headers)


def test_cavage_hs2019_with_an_ed25519_key_verifies():
    ed = ed25519.Ed25519PrivateKey.generate()
    pem = ed.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    headers = {"Host": "hub.example", "Date": "Wed, 04 Mar 2026 12:00:00 GMT", "Digest": sig.digest_header(BODY)}
    message = "\n".join(["(request-target): post /inbox", "host: hub.example", f"date: {headers['Date']}",
                         f"digest: {headers['Digest']}"]).encode()
    signature = base64.b64encode(ed.sign(message)).decode()
    headers["Signature"] = (f'keyId="{KEY_ID}",algorithm="hs2019",headers="(request-target) host date digest",'
                            f'signature="{signature}"')
    assert _verify(pem, headers).scheme == sig.CAVAGE


# --- fuzzing: nothing but SignatureError escapes ----------------------------------------------

_sf_text = st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=120)


@FUZZ
@given(signature_input=st.one_of(_sf_text, st.sampled_from([
    f'sig1=("@method" "@target-uri" "content-digest");created={int(NOW.timestamp())};keyid="{KEY_ID}"',
    f'sig1=("@method" "@target-uri");created=1;keyid="{KEY_ID}";alg="x"',
    f'sig1=("@method";x "@target-uri";req);created={int(NOW.timestamp())};keyid="{KEY_ID}"'])),
    signature=st.one_of(_sf_text, st.just("sig1=:AAAA:")), body=st.one_of(st.none(), st.binary(max_size=80)),
    method=st.sampled_from(["POST", "GET", "get", ""]))
def test_fuzz_rfc9421_headers(keypair, signature_input, signature, body, method):
    headers = {**_sign(keypair), "Signature-Input": signature_input, "Signature": signature}
    with contextlib.suppress(sig.SignatureError):
        _verify(keypair[1], headers, body=body, method=method)
    with contextlib.suppress(sig.SignatureError):
        sig.signature_key_id(headers)
