"""What a deleted account must not leave behind: tokens that keep reading, an id the next newcomer
inherits, the note on the invitation that named the person.

The default test database is SQLite, which enforces no foreign key (so no ON DELETE CASCADE) and,
without AUTOINCREMENT, gives the next row the highest id + 1: the probe's case exactly.
"""
from __future__ import annotations

import re

import sqlalchemy as sa

from hub.extensions import db
from hub.models import ApiToken, PeerHub
from hub.models.user import Role, User
from hub.services import accounts, api_tokens
from tests.helpers import count, login, post_form

SECRET_RE = re.compile(r'<code class="secret-value">([^<]+)</code>')
FEED_RE = re.compile(r"(/notes\.atom\?token=[\w-]+)")
INVITE_RE = re.compile(r"/invite/[\w-]{20,}")
PASSWORD = "leaver password 1"


def _invite(admin_browser, note: str) -> str:
    page = post_form(admin_browser, "/admin/invitations", {"role": "contributor", "project": "", "days": "7",
                                                           "note": note})
    return INVITE_RE.search(page.get_data(as_text=True)).group(0)


def _sign_up(app, link: str, username: str, pseudonym: str):
    browser = app.test_client()
    response = post_form(browser, link, {"username": username, "pseudonym": pseudonym, "email": "",
                                         "password": PASSWORD, "confirm": PASSWORD})
    assert response.status_code == 302, response.get_data(as_text=True)
    return browser


def test_a_deleted_persons_tokens_stop_working_and_pass_to_no_newcomer(app, admin):
    boss = app.test_client()
    login(boss, admin.username)
    leaver = _sign_up(app, _invite(boss, "For Wang Fang 王芳, peer at Liangshan"), "leaver", "Leaver Fang")
    leaver_id = accounts.find_by_login("leaver").id
    page = post_form(leaver, "/account/tokens", {"name": "Wang Fang newsletter", "days": "90"})
    api_secret = SECRET_RE.search(page.get_data(as_text=True)).group(1)
    page = post_form(leaver, "/account/feed-token", {}, form_url="/account/tokens")
    feed = FEED_RE.search(page.get_data(as_text=True).replace("&amp;", "&")).group(1)
    reader = app.test_client()
    assert reader.get("/api/v1/notes", headers={"Authorization": f"Bearer {api_secret}"}).status_code == 200
    assert reader.get(feed).status_code == 200

    assert post_form(leaver, "/account/delete", {"what": "keep", "password": PASSWORD}).status_code == 302

    assert reader.get("/api/v1/notes", headers={"Authorization": f"Bearer {api_secret}"}).status_code == 401
    assert reader.get(feed).status_code == 404
    assert count(ApiToken) == 0
    invitations = boss.get("/admin/invitations").get_data(as_text=True)
    assert "Wang Fang" not in invitations and "王芳" not in invitations

    newcomer = _sign_up(app, _invite(boss, "newcomer"), "newcomer", "Newcomer One")
    assert accounts.find_by_login("newcomer").id > leaver_id  # never the leaver's id again
    assert "Wang Fang newsletter" not in newcomer.get("/account/tokens").get_data(as_text=True)
    assert reader.get("/api/v1/notes", headers={"Authorization": f"Bearer {api_secret}"}).status_code == 401


def test_a_token_whose_account_row_is_gone_is_refused_not_read_as_anonymous(app, member):
    """As a token left behind by a deletion before tokens were deleted with their person."""
    _token, secret = api_tokens.create_personal(member, name="script", days=None)
    db.session.commit()
    db.session.execute(sa.text("PRAGMA foreign_keys = OFF"))  # SQLite enforced no foreign key then
    db.session.execute(sa.delete(User).where(User.id == member.id))
    db.session.commit()
    db.session.execute(sa.text("PRAGMA foreign_keys = ON"))
    response = app.test_client().get("/api/v1/notes", headers={"Authorization": f"Bearer {secret}"})
    assert response.status_code == 401


def test_an_organisation_token_outlives_the_administrator_who_made_it(app, admin, make_user):
    other = make_user("other", role=Role.ADMIN)
    peer = PeerHub(actor_id="https://partner.example/actor", base_url="https://partner.example", name="Partner",
                   partner=True)
    db.session.add(peer)
    db.session.commit()
    token, secret = api_tokens.create_organisation(peer, name="their site", days=None, by=other)
    token_id, other_id = token.id, other.id
    boss = app.test_client()
    login(boss, admin.username)
    post_form(boss, f"/admin/users/{other_id}/delete", {"what": "keep"}, form_url=f"/admin/users/{other_id}")
    db.session.expire_all()
    assert db.session.get(User, other_id) is None
    assert db.session.get(ApiToken, token_id).created_by_id is None
    assert app.test_client().get("/api/v1/notes", headers={"Authorization": f"Bearer {secret}"}).status_code == 200
