"""Property-based tests of the inbox: whatever arrives, no 500 and no database write unless it is genuine."""
from __future__ import annotations

import json
import weakref

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hub.federation import inbox
from hub.models.events import Event
from hub.models.federation import InboxItem, PeerHub
from hub.models.note import Note
from tests.helpers import count

REFUSALS = {400, 401, 403, 413, 415}
FUZZ = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                        HealthCheck.too_slow])

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=20)
header_text = st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=200)


_peers: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _peer(app, make_peer):
    """Return the one registered partner of this app (made on the first example)."""
    if app not in _peers:
        _peers[app] = make_peer()
    return _peers[app]


def _rows():
    return count(InboxItem), count(PeerHub), count(Note), count(Event)


def _check(response, before):
    assert response.status_code in REFUSALS, (response.status_code, response.get_data(as_text=True))
    assert _rows() == before


@FUZZ
@given(body=st.binary(max_size=600) | json_values.map(lambda v: json.dumps(v).encode()),
       signature=header_text, content_type=st.sampled_from(
           ["application/activity+json", "application/ld+json; profile=x", "application/json", "text/html", ""]),
       extra=st.dictionaries(st.sampled_from(["Date", "Digest", "Host", "X-Junk", "Signature-Input",
                                              "Content-Digest"]), header_text, max_size=3))
def test_random_requests_are_refused_without_a_write(app, client, make_peer, body, signature, content_type, extra):
    _peer(app, make_peer)
    before = _rows()
    headers = {"Content-Type": content_type, "Signature": signature, **extra}
    _check(client.post("/inbox", data=body, headers=headers, base_url="http://hub.test"), before)


@FUZZ
@given(data=st.data(), scheme=st.sampled_from(["cavage", "rfc9421"]))
def test_any_change_to_a_signed_request_is_refused(app, client, make_peer, data, scheme):
    peer = _peer(app, make_peer)
    # The replay cache would hide other failures; a fresh one per example keeps each check honest.
    app.extensions.pop(inbox.REPLAY_KEY, None)
    activity = peer.activity("Create", peer.article(name=data.draw(st.text(max_size=40))))
    body, headers = peer.signed(activity, scheme=scheme)
    signed = ["Date", "Digest", "Signature"] if scheme == "cavage" else ["Content-Digest", "Signature-Input",
                                                                         "Signature"]
    how = data.draw(st.sampled_from(["body", "header", "drop"]))
    if how == "body":
        position = data.draw(st.integers(0, len(body) - 1))
        flipped = bytes([body[position] ^ data.draw(st.integers(1, 255))])
        body = body[:position] + flipped + body[position + 1:]
    elif how == "header":
        name = data.draw(st.sampled_from(signed))
        value = headers[name]
        position = data.draw(st.integers(0, len(value) - 1))
        replacement = data.draw(st.characters(min_codepoint=33, max_codepoint=126).filter(lambda c: c != value[position]))
        headers[name] = value[:position] + replacement + value[position + 1:]
    else:
        headers.pop(data.draw(st.sampled_from(signed)))
    before = _rows()
    response = client.post("/inbox", data=body, headers=headers, base_url="http://hub.test")
    _check(response, before)
