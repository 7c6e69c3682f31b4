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


_refs = st.sampled_from(["http://hub.test/ap/notes/1", "http://hub.test/ap/notes/999", "http://hub.test/ap/comments/1",
                         "https://peer.example/ap/comments/1", "https://elsewhere.example/x", "", "http://hub.test/actor",
                         "http://hub.test/topics/outreach/actor"])
_conversation_objects = st.one_of(
    _refs, json_values,
    st.fixed_dictionaries({"type": st.sampled_from(["Note", "Article", "Delete", "Like", "Follow", "Tombstone"]),
                           "id": st.one_of(_refs, st.text(max_size=20))},
                          optional={"inReplyTo": _refs, "content": st.text(max_size=60), "object": _refs,
                                    "attributedTo": _refs, "peh:authorPseudonym": json_values,
                                    "contentMap": st.dictionaries(st.sampled_from(["en", "zh-Hans", "x"]),
                                                                  st.text(max_size=20), max_size=2),
                                    "updated": st.sampled_from(["2026-01-01T00:00:00Z", "nonsense", ""])}))


@FUZZ
@given(kind=st.sampled_from(["Create", "Update", "Delete", "Announce", "Like", "Undo", "Flag", "Offer", "Follow",
                             "Move"]),
       obj=_conversation_objects, extra=st.dictionaries(st.sampled_from(["peh:kind", "peh:reason", "target"]),
                                                         st.one_of(_refs, json_values), max_size=2))
def test_the_conversations_activities_never_fail_and_refusals_never_write(app, client, make_peer, publish, kind,
                                                                          obj, extra):
    """Signed, well-formed envelopes around any object: 202 or a 400 with a reason, never a 500 or a write."""
    peer = _peer(app, make_peer)
    if not db_has_note():
        publish("public")
    app.extensions.pop(inbox.REPLAY_KEY, None)
    before = _rows()
    response = peer.post(client, peer.activity(kind, obj, **extra))
    if response.status_code == 202:
        inbox.process_pending(app)  # the worker never raises: an item ends done, held or failed
        assert count(InboxItem, InboxItem.state == "pending") == 0
    else:
        assert response.status_code == 400 and response.get_json()["error"], response.get_data(as_text=True)
        assert _rows() == before


def db_has_note() -> bool:
    return count(Note) > 0
