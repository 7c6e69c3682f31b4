"""API tokens: personal and organisation tokens through the pages and the API, and rate limits."""
from __future__ import annotations

import datetime as dt
import re
import threading
import time

import pytest
import sqlalchemy as sa

from hub.extensions import db
from hub.models import ApiToken, AuditEntry, Note, PeerHub, Role, UserStatus
from hub.services import api_tokens
from tests import catalogue
from tests.helpers import count, login, post_form

SECRET_RE = re.compile(r'<code class="secret-value">([^<]+)</code>')


@pytest.fixture
def hub(app):
    return catalogue.build()


@pytest.fixture
def admin(hub):
    return catalogue.person("ada", role=Role.ADMIN)


@pytest.fixture
def partner_hub(app):
    peer = PeerHub(actor_id="https://partner.example/actor", base_url="https://partner.example", name="Partner",
                   partner=True)
    db.session.add(peer)
    db.session.commit()
    return peer


def _bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def _titles(client, secret: str | None = None, url: str = "/api/v1/notes") -> set[str]:
    response = client.get(url, headers=_bearer(secret) if secret else {})
    assert response.status_code == 200, response.get_data(as_text=True)
    return {item["title"] for item in response.get_json()["items"]}


def _remote_partners_note(peer: PeerHub) -> Note:
    note = Note(state="published", visibility="partners", language="en", title="From the partner",
                summary="s", body="b", body_html="<p>b</p>", origin_peer_id=peer.id,
                remote_id="https://partner.example/ap/notes/1", published_at=dt.datetime(2024, 1, 1))
    db.session.add(note)
    db.session.commit()
    return note


def test_a_member_makes_a_token_shown_once_and_stored_hashed(app, client, hub):
    login(client, hub.member.username)
    page = post_form(client, "/account/tokens", {"name": "our newsletter", "days": "30"})
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    secret = SECRET_RE.search(page.get_data(as_text=True)).group(1)
    assert secret.startswith("peh_p_") and len(secret) > 40
    token = db.session.scalar(sa.select(ApiToken))
    assert token.token_hash != secret and secret not in str(token.__dict__)
    assert (token.name, token.kind, token.user_id, token.scope) == ("our newsletter", "personal", hub.member.id, "read")
    assert token.expires_at.date() == (dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=30)).date()
    again = client.get("/account/tokens").get_data(as_text=True)
    assert secret not in again and "our newsletter" in again and secret[:10] in again
    assert count(AuditEntry, AuditEntry.action == "token.create") == 1


def test_a_personal_token_reads_exactly_what_its_person_reads(client, hub):
    _token, secret = api_tokens.create_personal(hub.member, name="script", days=None)
    as_member = _titles(client, secret)
    assert {hub.members.title, hub.partners.title} <= as_member and hub.draft.title not in as_member
    assert hub.members.title not in _titles(client)
    detail = client.get(f"/api/v1/notes/{hub.members.id}", headers=_bearer(secret))
    assert detail.status_code == 200 and detail.headers["Cache-Control"] == "private, no-cache"
    assert client.get(f"/api/v1/notes/{hub.draft.id}", headers=_bearer(api_tokens.create_personal(
        hub.author, name="own", days=None)[1])).status_code == 404  # the API serves published notes only


def test_a_revoked_expired_or_unknown_token_is_refused_not_read_as_anonymous(client, hub):
    token, secret = api_tokens.create_personal(hub.member, name="script", days=1)
    assert client.get("/api/v1/notes", headers=_bearer(secret)).status_code == 200
    db.session.expire_all()
    assert token.last_used_at is not None
    token.expires_at = dt.datetime(2020, 1, 1)
    db.session.commit()
    for headers in (_bearer(secret), _bearer("peh_p_madeup"), {"Authorization": "Basic bWFyeTpwdw=="}):
        response = client.get("/api/v1/notes", headers=headers)
        assert response.status_code == 401 and response.mimetype == "application/problem+json"
        assert response.get_json()["code"] == "invalid_token"
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
    token.expires_at = None
    api_tokens.revoke(token, by=hub.member)
    assert client.get("/api/v1/notes", headers=_bearer(secret)).status_code == 401


def test_a_disabled_persons_token_reads_public_notes_only(client, hub):
    _token, secret = api_tokens.create_personal(hub.member, name="script", days=None)
    hub.member.status = UserStatus.DISABLED.value
    db.session.commit()
    assert _titles(client, secret) == {n.title for n in hub.public}


def test_fred_cannot_revoke_someone_elses_token(app, client, hub, fred):
    token, _secret = api_tokens.create_personal(hub.member, name="script", days=None)
    login(client, fred.username)
    response = post_form(client, f"/account/tokens/{token.id}/revoke", {}, form_url="/account/tokens")
    db.session.expire_all()
    assert response.status_code == 404 and token.revoked_at is None


def test_a_person_revokes_their_token_on_the_account_page(client, hub):
    token, secret = api_tokens.create_personal(hub.member, name="script", days=None)
    login(client, hub.member.username)
    response = post_form(client, f"/account/tokens/{token.id}/revoke", {}, form_url="/account/tokens")
    db.session.expire_all()
    assert response.status_code == 302 and token.revoked_at is not None
    assert client.get("/api/v1/notes", headers=_bearer(secret)).status_code == 401


def test_an_organisation_token_reads_as_a_partner_hub_member(client, hub, partner_hub, admin):
    remote = _remote_partners_note(partner_hub)
    login(client, admin.username)
    page = post_form(client, f"/admin/partners/{partner_hub.id}/tokens", {"name": "their website", "days": ""})
    secret = SECRET_RE.search(page.get_data(as_text=True)).group(1)
    reader = client.application.test_client()  # a partner system: no session
    titles = _titles(reader, secret)
    assert hub.partners.title in titles and {n.title for n in hub.public} <= titles
    assert hub.members.title not in titles and remote.title not in titles and hub.draft.title not in titles
    assert reader.get(f"/api/v1/notes/{hub.members.id}", headers=_bearer(secret)).status_code == 404
    partner_hub.blocked = True  # blocking the hub narrows its tokens to public notes at once
    db.session.commit()
    assert _titles(reader, secret) == {n.title for n in hub.public}


def test_organisation_tokens_are_for_allow_listed_hubs_and_administrators(client, hub, partner_hub, admin):
    partner_hub.partner = False
    db.session.commit()
    login(client, admin.username)
    page = post_form(client, f"/admin/partners/{partner_hub.id}/tokens", {"name": "x", "days": "30"})
    assert SECRET_RE.search(page.get_data(as_text=True)) is None and count(ApiToken) == 0
    assert "This hub is not on the allow-list" in page.get_data(as_text=True)
    member = client.application.test_client()
    login(member, hub.member.username)
    assert member.get(f"/admin/partners/{partner_hub.id}/tokens").status_code == 403


def test_a_feed_token_is_not_an_api_token(client, hub):
    secret = api_tokens.renew_feed(hub.member)
    assert client.get("/api/v1/notes", headers=_bearer(secret)).status_code == 401


@pytest.fixture
def limited(make_app):
    app = make_app(API_RATE_LIMIT="5 per minute", API_RATE_LIMIT_ANONYMOUS="3 per minute")
    with app.app_context():
        made = catalogue.person("mary")
        yield app, api_tokens.create_personal(made, name="script", days=None)[1]
        db.session.remove()


def test_requests_are_limited_per_client_address_with_ratelimit_headers(limited):
    app, _secret = limited
    client = app.test_client()
    answers = [client.get("/api/v1/topics") for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert [a.headers["RateLimit-Remaining"] for a in answers[:3]] == ["2", "1", "0"]
    assert answers[0].headers["RateLimit-Limit"] == "3" and answers[0].headers["RateLimit-Policy"] == "3;w=60"
    assert 0 <= int(answers[0].headers["RateLimit-Reset"]) <= 60 and "Retry-After" not in answers[0].headers
    refused = answers[3]
    assert refused.mimetype == "application/problem+json" and refused.get_json()["status"] == 429
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    other_address = client.get("/api/v1/topics", environ_base={"REMOTE_ADDR": "10.0.0.9"})
    assert other_address.status_code == 200


def test_a_steady_caller_starts_no_thread_and_counts_still_expire(make_app, monkeypatch):
    """limits' memory storage started a timer thread for most requests; the hub's sweeps while counting."""
    from blueprints.api import limits

    app = make_app(API_RATE_LIMIT_ANONYMOUS="3 per 1 second")
    started = []
    monkeypatch.setattr(threading.Timer, "start", lambda timer: started.append(timer))
    monkeypatch.setattr(limits.SweptMemoryStorage, "SWEEP_SECONDS", 0.5)
    with app.app_context():
        assert isinstance(app.extensions[limits.EXTENSION].storage, limits.SweptMemoryStorage)
        client = app.test_client()
        first = []
        for _ in range(4):
            first.append(client.get("/api/v1/topics").status_code)
            time.sleep(0.02)  # longer than the timer's 10 ms: each request found it done
        time.sleep(1.1)
        elsewhere = client.get("/api/v1/topics", environ_base={"REMOTE_ADDR": "10.0.0.9"}).status_code
        storage = app.extensions[limits.EXTENSION].storage
        assert len(storage.storage) == 1  # the first address's counter, not read since, was swept
        again = client.get("/api/v1/topics").status_code
        db.session.remove()
    assert first == [200, 200, 200, 429] and elsewhere == 200 and again == 200
    assert started == []


def test_a_token_has_its_own_bucket(limited):
    app, secret = limited
    client = app.test_client()
    for _ in range(3):
        client.get("/api/v1/topics")
    assert client.get("/api/v1/topics").status_code == 429
    with_token = [client.get("/api/v1/topics", headers=_bearer(secret)) for _ in range(6)]
    assert [a.status_code for a in with_token] == [200] * 5 + [429]
    assert with_token[0].headers["RateLimit-Limit"] == "5"


def test_pages_are_not_rate_limited(limited):
    app, _secret = limited
    client = app.test_client()
    assert {client.get("/").status_code for _ in range(5)} == {200}
    assert {client.get("/notes").status_code for _ in range(5)} == {200}


@pytest.mark.parametrize("path", ["/notes.atom", "/oai?verb=Identify"])
def test_feeds_and_oai_pmh_are_rate_limited_too(limited, path):
    app, _secret = limited
    client = app.test_client()
    answers = [client.get(path) for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert 1 <= int(answers[3].headers["Retry-After"]) <= 60
    assert client.get("/").status_code == 200  # a person's page is never counted, even once a machine is refused


def test_the_account_page_names_tokens_in_both_languages(client, hub):
    login(client, hub.member.username)
    assert "API 令牌" in client.get("/account/tokens?lang=zh_Hans").get_data(as_text=True)
    assert "API tokens" in client.get("/account/tokens?lang=en").get_data(as_text=True)


def test_moderators_role_does_not_matter_for_admin_tokens(client, hub, partner_hub):
    hub.member.role = Role.MODERATOR.value
    db.session.commit()
    login(client, hub.member.username)
    assert client.get(f"/admin/partners/{partner_hub.id}/tokens").status_code == 403


def test_a_token_not_used_yet_and_a_partner_not_read_yet_are_said_apart_in_chinese(client, hub, partner_hub, admin):
    """"not yet" means "never used" beside a token and "not read yet" beside a partner's outbox."""
    api_tokens.create_personal(admin, name="script", days=None)
    api_tokens.create_organisation(partner_hub, name="their website", days=None, by=admin)
    login(client, admin.username)
    client.get("/?lang=zh_Hans")
    for page in (client.get("/account/tokens"), client.get(f"/admin/partners/{partner_hub.id}/tokens")):
        row = re.search(r"<tr><th scope=\"row\">.*?</tr>", page.get_data(as_text=True), re.S).group(0)
        assert "尚未使用" in row and "尚未补取" not in row
    detail = client.get(f"/admin/partners/{partner_hub.id}").get_data(as_text=True)
    assert re.search(r"<dt>上次补取时间</dt><dd>尚未补取</dd>", detail)
    client.get("/?lang=en")
    assert "<td>not yet</td>" in client.get("/account/tokens").get_data(as_text=True)
    assert "<dd>not yet</dd>" in client.get(f"/admin/partners/{partner_hub.id}").get_data(as_text=True)


def test_a_caller_has_one_budget_across_every_endpoint_feeds_and_oai(limited):
    app, secret = limited
    client = app.test_client()
    answers = [client.get(path) for path in ("/api/v1/topics", "/api/v1/notes", "/notes.atom", "/oai?verb=Identify")]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert [a.headers["RateLimit-Remaining"] for a in answers[:3]] == ["2", "1", "0"]
    assert client.get("/api/v1/projects").status_code == 429  # an endpoint not asked yet: the same budget
    with_token = [client.get(path, headers=_bearer(secret))
                  for path in ("/api/v1/topics", "/api/v1/notes", "/api/v1/projects", "/api/v1/populations",
                               "/api/v1/openapi.json", "/api/v1/")]
    assert [a.status_code for a in with_token] == [200] * 5 + [429]  # the token's own budget, shared the same way
