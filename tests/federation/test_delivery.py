"""Outbound federation: events become deliveries; deliveries are signed, sent, retried, dead-lettered."""
from __future__ import annotations

import datetime as dt
import json
import time

import sqlalchemy as sa

from hub import events
from hub.extensions import db
from hub.federation import actor, conversation, delivery
from hub.federation.signatures import verify_request
from hub.models import Note, User
from hub.models.events import ConsumerCursor
from hub.models.federation import Delivery, NoteReceipt
from hub.services import discussion, moderation, notes, screening
from tests.federation.fixtures import PUBLIC, DocumentServer
from tests.helpers import count

PHONE = "13800138000"


def _follower(make_peer, server, **kwargs):
    host = server.base.removeprefix("http://")
    return make_peer(host, scheme="http", they_follow=True, **kwargs)


def _deliveries() -> list[Delivery]:
    return list(db.session.scalars(sa.select(Delivery).order_by(Delivery.id)))


def _consume(app) -> None:
    """Run the delivery consumer alone (the worker's round would also send)."""
    consumer = delivery.FederationConsumer()
    batch = events.after(consumer.position())
    if batch:
        consumer.apply(batch)


def test_publishing_a_public_note_queues_a_create_per_follower(app, make_peer, peer_server, publish):
    peer = _follower(make_peer, peer_server)
    note = publish("public")
    _consume(app)
    [row] = _deliveries()
    assert row.activity["type"] == "Create" and row.activity["object"]["id"] == actor.note_object_id(note.id)
    assert row.inbox_url == peer.base + "/inbox" and row.state in ("pending", "sent")
    assert count(NoteReceipt, NoteReceipt.note_id == note.id) == 1
    position = db.session.scalar(sa.select(ConsumerCursor.position).where(ConsumerCursor.name == "federation"))
    assert position >= row.event_id


def test_members_notes_never_make_a_delivery(app, make_peer, peer_server, publish):
    _follower(make_peer, peer_server)
    publish("members")
    _consume(app)
    assert _deliveries() == []


def test_partners_notes_go_only_to_allow_listed_followers(app, make_peer, publish):
    app.config["FEDERATION_MODE"] = "open"
    partner = make_peer("b.example", they_follow=True, partner=True)
    make_peer("c.example", they_follow=True, partner=False)
    publish("partners")
    delivery.FederationConsumer().apply(_all_events())
    [row] = _deliveries()
    assert row.peer_id == partner.row.id and row.activity["to"] == [partner.actor_id]
    assert PUBLIC not in json.dumps(row.activity)


def _all_events():
    from hub import events

    return events.after(0)


def test_a_shared_inbox_gets_one_copy(app, make_peer, publish):
    first = make_peer("b.example", they_follow=True)
    second = make_peer("b.example", they_follow=True, register=False)
    from hub.models.federation import PeerHub

    db.session.add(PeerHub(actor_id="https://b.example/users/other", base_url=first.base, inbox_url=first.base + "/u",
                           shared_inbox_url=first.base + "/inbox", partner=True, they_follow=True))
    db.session.commit()
    assert second  # same host, same shared inbox
    publish("public")
    delivery.FederationConsumer().apply(_all_events())
    assert len(_deliveries()) == 1 and count(NoteReceipt) == 2


def test_replaying_events_does_not_double_deliveries(app, make_peer, publish):
    make_peer("b.example", they_follow=True)
    publish("public")
    delivery.FederationConsumer().apply(_all_events())
    delivery.FederationConsumer().apply(_all_events())
    assert len(_deliveries()) == 1


def test_the_sender_signs_and_posts_and_marks_sent(app, make_peer, peer_server, publish):
    _follower(make_peer, peer_server)
    publish("public")
    _consume(app)
    delivery.send_due(app, wait=True)
    [row] = _deliveries()
    assert row.state == "sent" and row.attempts == 1 and row.sent_at is not None
    [(path, headers, body)] = peer_server.posts
    assert path == "/inbox" and headers["content-type"].startswith("application/ld+json")
    public_pem = actor.instance_keys().public_pem.decode()
    signed = verify_request(method="POST", path=path, query="", headers=headers, body=body, scheme="http",
                            fetch_public_key=lambda key_id: public_pem if key_id == actor.key_id() else None)
    assert signed.key_id == "http://hub.test/actor#main-key"
    assert json.loads(body)["type"] == "Create"
    # A hub that took an RFC 9421 signature gets RFC 9421 from now on.
    assert signed.scheme == "rfc9421" and row.peer.signature_scheme == "rfc9421"


def test_unpublishing_sends_a_delete_to_every_hub_that_had_the_note(app, make_peer, peer_server, publish, people):
    peer = _follower(make_peer, peer_server)
    note = publish("public")
    _consume(app)
    delivery.send_due(app, wait=True)
    peer.row.they_follow = False  # even a hub that stopped following hears of the takedown
    db.session.commit()
    notes.unpublish(note, by=people["moderator"], reason="wrong")
    _consume(app)
    kinds = [d.activity["type"] for d in _deliveries()]
    assert kinds == ["Create", "Delete"]
    assert _deliveries()[1].activity["object"] == {**_deliveries()[1].activity["object"], "type": "Tombstone",
                                                   "formerType": "Article"}


def test_narrowing_a_note_deletes_it_where_it_may_no_longer_be(app, make_peer, publish, people):
    app.config["FEDERATION_MODE"] = "open"
    make_peer("b.example", they_follow=True, partner=True)
    make_peer("c.example", they_follow=True, partner=False)
    note = publish("public")
    delivery.FederationConsumer().apply(_all_events())
    notes.narrow_visibility(note, by=people["moderator"], visibility="partners")
    delivery.FederationConsumer().apply(_all_events()[-1:])
    rows = [(d.inbox_url, d.activity["type"]) for d in _deliveries()]
    assert ("https://c.example/inbox", "Delete") in rows and ("https://b.example/inbox", "Update") in rows
    assert count(NoteReceipt) == 1


def test_server_errors_are_retried_with_growing_waits(app, make_peer, peer_server, publish):
    _follower(make_peer, peer_server)
    publish("public")
    _consume(app)
    peer_server.status["post"] = 503
    delivery.send_due(app, wait=True)
    [row] = _deliveries()
    assert row.state == "pending" and row.attempts == 1 and "503" in row.last_error
    first_wait = row.next_attempt_at
    app.config["FEDERATION_RETRY_BASE_SECONDS"] = 0.05
    time.sleep(0.3)
    delivery.send_due(app, wait=True)
    db.session.refresh(row)
    assert row.attempts == 2 and row.next_attempt_at > first_wait
    assert delivery.backoff(1).total_seconds() == 0.05 and delivery.backoff(4).total_seconds() == 0.4


def test_the_default_backoff_spreads_ten_tries_over_about_twelve_hours(app):
    app.config["FEDERATION_RETRY_BASE_SECONDS"] = 90
    total = sum(delivery.backoff(n).total_seconds() for n in range(1, 10))
    assert 11 * 3600 < total < 14 * 3600


def test_client_errors_dead_letter_at_once_and_admins_can_retry(app, make_peer, peer_server, publish):
    _follower(make_peer, peer_server)
    publish("public")
    _consume(app)
    peer_server.status["post"] = 400
    delivery.send_due(app, wait=True)
    [row] = _deliveries()
    assert row.state == "dead" and "400" in row.last_error
    peer_server.status["post"] = 202
    assert delivery.retry_dead() == 1
    db.session.commit()
    delivery.send_due(app, wait=True)
    db.session.refresh(row)
    assert row.state == "sent"


def test_too_many_failures_dead_letter_with_the_last_error(app, make_peer, peer_server, publish):
    app.config.update(FEDERATION_DELIVERY_TRIES=3, FEDERATION_RETRY_BASE_SECONDS=0.01)
    _follower(make_peer, peer_server)
    publish("public")
    _consume(app)
    peer_server.status["post"] = 429
    for _ in range(3):
        time.sleep(0.05)
        delivery.send_due(app, wait=True)
    [row] = _deliveries()
    assert row.state == "dead" and row.attempts == 3 and "429" in row.last_error


def test_an_unreachable_hub_is_retried(app, make_peer, publish):
    app.config["FEDERATION_ALLOW_LOOPBACK"] = True
    make_peer("127.0.0.1:9", scheme="http", they_follow=True)  # nothing listens on the discard port
    publish("public")
    _consume(app)
    delivery.send_due(app, wait=True)
    [row] = _deliveries()
    assert row.state == "pending" and row.attempts == 1 and row.last_error


def test_a_note_taken_down_while_a_hub_was_down_reaches_it_only_as_a_delete(app, make_peer, peer_server, publish,
                                                                           people, monkeypatch):
    # Its signature scheme known, a failing hub is asked once per try (an unknown one twice: see client).
    _follower(make_peer, peer_server).row.signature_scheme = "rfc9421"
    note = publish("public")
    _consume(app)
    app.config["FEDERATION_RETRY_BASE_SECONDS"] = 60  # longer than the steps below take on a busy machine
    peer_server.status["post"] = 503
    delivery.send_due(app, wait=True)
    notes.unpublish(note, by=people["moderator"], reason="wrong")
    _consume(app)
    peer_server.status["post"] = 202
    later = delivery.utcnow() + dt.timedelta(seconds=61)
    monkeypatch.setattr(delivery, "utcnow", lambda: later)  # a backoff would be over
    delivery.send_due(app, wait=True)
    # The refused try, then only the Delete: the Create queued behind the outage no longer goes.
    assert [a["type"] for a in peer_server.activities()] == ["Create", "Delete"]
    assert [(d.activity["type"], d.state) for d in _deliveries()] == [("Delete", "sent")]


def _published_with_personal_data(people) -> Note:
    """Publish a note with a name and a phone number in it, the moderator ticking both as checked."""
    data = notes.NoteInput(title="夜间外展", summary="一句话摘要。", body=f"姓名：王小明，电话 {PHONE}。",
                           language="zh_Hans", visibility="public", place="成都", province="四川")
    note = notes.create_draft(author=people["author"], data=data)
    notes.submit(note, by=people["author"], confirm_privacy=True)
    _fields, found = notes.privacy_findings(note)
    return notes.approve(note, by=people["moderator"], checked=[screening.key(f) for f in found])


def _redact(note, people) -> None:
    moderation.redact_note(note, by=people["moderator"], fields={"title": "夜间外展", "summary": "一句话摘要。",
                                                                 "body": "电话请问中心。"})


def _holds_personal_data(value) -> bool:
    text = json.dumps(value, ensure_ascii=False)
    return PHONE in text or "王小明" in text


def test_personal_data_removed_while_a_hub_was_down_never_reaches_it(app, make_peer, peer_server, people,
                                                                     monkeypatch):
    _follower(make_peer, peer_server).row.signature_scheme = "rfc9421"
    note = _published_with_personal_data(people)
    _consume(app)
    app.config["FEDERATION_RETRY_BASE_SECONDS"] = 60
    peer_server.status["post"] = 503
    delivery.send_due(app, wait=True)  # the hub is down: its Create waits
    _redact(note, people)
    _consume(app)
    peer_server.status["post"] = 202
    later = delivery.utcnow() + dt.timedelta(seconds=61)
    monkeypatch.setattr(delivery, "utcnow", lambda: later)
    delivery.send_due(app, wait=True)
    refused, *received = peer_server.activities()
    assert _holds_personal_data(refused) and received
    assert not any(_holds_personal_data(a) for a in received)
    assert not _holds_personal_data([d.activity for d in _deliveries()])


def test_a_dead_lettered_create_is_not_sent_again_once_a_moderator_removed_personal_data(app, make_peer, peer_server,
                                                                                        people):
    _follower(make_peer, peer_server).row.signature_scheme = "rfc9421"
    note = _published_with_personal_data(people)
    _consume(app)
    peer_server.status["post"] = 400
    delivery.send_due(app, wait=True)  # refused for good: dead-lettered for an admin to send again
    _redact(note, people)
    _consume(app)
    peer_server.status["post"] = 202
    delivery.send_due(app, wait=True)
    assert delivery.retry_dead() == 0
    db.session.commit()
    delivery.send_due(app, wait=True)
    assert [a["type"] for a in peer_server.activities()] == ["Create", "Update"]
    assert not _holds_personal_data(peer_server.activities()[1])


def test_the_sent_create_is_not_kept_as_a_copy_of_what_a_moderator_removed(app, make_peer, peer_server, people):
    _follower(make_peer, peer_server)
    note = _published_with_personal_data(people)
    _consume(app)
    delivery.send_due(app, wait=True)
    # The hub got the text; the delivery kept only the note's id, before any moderator came by.
    assert _holds_personal_data(peer_server.activities())
    [sent] = _deliveries()
    assert sent.state == "sent" and sent.activity["object"] == {"id": actor.note_object_id(note.id), "type": "Article"}
    _redact(note, people)
    _consume(app)
    delivery.send_due(app, wait=True)
    rows = _deliveries()
    assert [(d.activity["type"], d.state) for d in rows] == [("Create", "sent"), ("Update", "sent")]
    assert not _holds_personal_data([d.activity for d in rows])


def test_a_sent_comment_is_not_kept_as_a_copy_of_its_text(app, make_peer, peer_server, publish, people):
    _follower(make_peer, peer_server)
    note = publish("public")
    _consume(app)
    comment = discussion.add_comment(note, by=people["author"], body="We tried it in Deyang with 王小明.")
    consumer = conversation.ConversationConsumer()
    consumer.apply(events.after(consumer.position()))
    delivery.send_due(app, wait=True)
    [announce] = [a for a in peer_server.activities() if a["type"] == "Announce"]
    assert "王小明" in announce["object"]["content"]  # the hub got it
    rows = _deliveries()
    assert {(d.activity["type"], d.state) for d in rows} == {("Create", "sent"), ("Announce", "sent")}
    [kept] = [d.activity for d in rows if d.activity["type"] == "Announce"]
    assert kept["object"] == {"id": conversation.comment_object_id(comment.id), "type": "Note"}
    assert not _holds_personal_data([d.activity for d in rows])


def _mark(note, person) -> None:
    """Mark or unmark ``note`` as useful: our totals change, and an Update goes to every hub."""
    notes.toggle_mark(note, by=person, kind="useful")
    consumer = conversation.ConversationConsumer()
    consumer.apply(events.after(consumer.position()))


def test_queueing_a_change_reads_none_of_the_deliveries_already_sent(app, make_peer, peer_server, publish, people):
    """The sent ones of a note stay for good: a new Update must not read them (they hold no text)."""
    _follower(make_peer, peer_server)
    note = publish("public")
    _consume(app)
    delivery.send_due(app, wait=True)
    for _ in range(2):
        _mark(note, people["moderator"])
        delivery.send_due(app, wait=True)
    assert [d.state for d in _deliveries()] == ["sent"] * 3
    note_id, moderator_id = note.id, people["moderator"].id
    db.session.expunge_all()  # every row read from here on is loaded again
    read = []

    def count_read(row, *args) -> None:
        read.append(row.id)

    for hook in ("load", "refresh"):
        sa.event.listen(Delivery, hook, count_read)
    try:
        _mark(db.session.get(Note, note_id), db.session.get(User, moderator_id))
    finally:
        for hook in ("load", "refresh"):
            sa.event.remove(Delivery, hook, count_read)
    assert read == []
    assert [d.state for d in _deliveries()] == ["sent"] * 3 + ["pending"]


def test_a_slow_hub_delays_neither_the_others_nor_the_worker(app, make_peer, peer_server, publish):
    slow_server = DocumentServer()
    try:
        slow_server.status["delay"] = 3.0
        _follower(make_peer, peer_server)
        _follower(make_peer, slow_server)
        publish("public")
        _consume(app)
        started = time.monotonic()
        delivery.send_due(app)  # starts both sends and returns at once
        assert time.monotonic() - started < 1.0
        deadline = time.monotonic() + 5
        while not peer_server.posts and time.monotonic() < deadline:
            time.sleep(0.02)
        assert peer_server.posts and time.monotonic() - started < 2.5  # long before the slow one answers
        delivery.sender(app).wait(timeout=10)
        delivery.send_due(app)
        assert all(d.state == "sent" for d in _deliveries())
    finally:
        slow_server.close()


def test_a_blocked_hub_gets_deletes_but_nothing_else(app, make_peer, peer_server, publish, people):
    peer = _follower(make_peer, peer_server)
    note = publish("public")
    _consume(app)
    peer.row.blocked = True
    db.session.commit()
    notes.unpublish(note, by=people["moderator"], reason="wrong")
    _consume(app)
    delivery.cancel_pending(peer.row, reason="hub blocked")
    db.session.commit()
    delivery.send_due(app, wait=True)
    assert [a["type"] for a in peer_server.activities()] == ["Delete"]


def test_a_clean_stop_records_the_sends_in_flight_so_a_restart_sends_nothing_twice(app, make_peer, peer_server,
                                                                                  publish):
    import threading

    from hub import worker

    _follower(make_peer, peer_server)
    publish("public")
    peer_server.status["delay"] = 1.0  # a slow partner: the send is still in flight when the stop comes
    app.config["WORKER_POLL_SECONDS"] = 0.05
    stop = worker.StopFlag()
    thread = threading.Thread(target=worker.run, args=(app,), kwargs={"stop": stop})
    thread.start()
    deadline = time.monotonic() + 60  # the first round also builds the index and loads the analyzer
    while not delivery.sender(app).in_flight and time.monotonic() < deadline:
        time.sleep(0.02)
    in_flight = bool(delivery.sender(app).in_flight)
    stop.set()
    thread.join(timeout=20)
    assert in_flight, "the delivery was never sent"
    assert not thread.is_alive() and len(peer_server.posts) == 1
    [row] = _deliveries()
    assert row.state == "sent"


def test_a_changed_pseudonym_reaches_the_hubs_that_have_the_persons_notes_and_comments(app, make_peer, peer_server,
                                                                                       publish, people):
    from hub import worker
    from hub.services import discussion
    from tests.helpers import login, post_form

    _follower(make_peer, peer_server)
    note = publish("public")
    discussion.add_comment(note, by=people["author"], body="补充：周一也发放。")
    worker.run_once(app)
    delivery.send_due(app, wait=True)
    before = len(peer_server.posts)
    assert "小李" in json.dumps(peer_server.activities(), ensure_ascii=False)
    client = app.test_client()
    login(client, "lee")
    response = post_form(client, "/account", {"pseudonym": "阿山", "email": "lee@example.org", "locale": "",
                                              "timezone": "", "bio": ""})
    assert response.status_code == 302
    worker.run_once(app)
    delivery.send_due(app, wait=True)
    after = peer_server.activities()[before:]
    assert sorted(a["type"] for a in after) == ["Announce", "Update"]
    assert all(a["object"]["peh:authorPseudonym"] == "阿山" for a in after)
    assert "小李" not in json.dumps(after, ensure_ascii=False)


def test_a_renamed_project_reaches_the_hubs_that_have_its_notes(app, make_peer, peer_server, publish, project):
    from dataclasses import replace

    from hub import worker
    from hub.services import projects

    _follower(make_peer, peer_server)
    publish("public")
    publish("members", title="只给成员")  # never federated: nothing to send again
    worker.run_once(app)
    delivery.send_due(app, wait=True)
    before = len(peer_server.posts)
    data = projects.ProjectData(**{f: getattr(project, f) for f in projects.ProjectData.__dataclass_fields__})
    projects.save(replace(data, name_zh="锦江同伴中心", name_en="Jinjiang Peer Centre"), by=None, project=project)
    worker.run_once(app)
    delivery.send_due(app, wait=True)
    after = peer_server.activities()[before:]
    assert [a["type"] for a in after] == ["Update"]
    assert after[0]["object"]["peh:project"]["nameMap"] == {"zh-Hans": "锦江同伴中心", "en": "Jinjiang Peer Centre"}
    assert "成都同伴支持服务中心" not in json.dumps(after, ensure_ascii=False)
