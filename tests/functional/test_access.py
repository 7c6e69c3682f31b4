"""Deny by default: every route declares who may use it, and anonymous users get nothing else."""
from __future__ import annotations

import re

import pytest

from blueprints.web.access import PUBLIC, access_of
from blueprints.web.errors import JSON_ATTR
from tests.helpers import PASSWORD, post_form

# The only endpoints an anonymous visitor may use. Adding one here is a decision, not a fix.
PUBLIC_ENDPOINTS = {
    "static", "assets.hashed", "main.index", "main.projects", "main.project",
    # Operations: liveness and readiness for machines; metrics decide by their own bearer token.
    "ops.healthz", "ops.readyz", "ops.metrics",
    "auth.login", "auth.logout", "auth.accept_invitation", "auth.register", "auth.forgot", "auth.reset",
    "notes.index", "notes.detail", "notes.attachment", "search.search", "api.search",
    # The API for partner systems: who reads what is decided by the caller's token (or session), per note.
    "api.index", "api.notes", "api.removed_notes", "api.note", "api.projects", "api.topics", "api.populations",
    "api.openapi", "api.docs",
    # Atom feeds: public notes, or a person's partners-visible feed through the feed token in the URL.
    "feeds.notes", "feeds.search",
    # OAI-PMH: harvesters have no session; they read public notes and deleted records only.
    "oai.endpoint",
    # Practices at a glance: counts of what the visitor may read.
    "overview.index",
    # Federation: other servers have no session; who reads what is decided by HTTP Signatures.
    "federation.webfinger", "federation.nodeinfo_links", "federation.nodeinfo", "federation.instance_actor",
    "federation.inbox_post", "federation.outbox_get", "federation.followers", "federation.note_object",
    "federation.note_activity", "federation.comment_object",
    # Topic actors: followable Groups of public notes (issue 15).
    "federation.topic_actor", "federation.topic_outbox", "federation.topic_followers",
    # Mail: one-click unsubscribing needs no sign-in (RFC 8058, a signed token); a note's link in a mail
    # leads to the note or, signed out, to the log-in page first.
    "mail.unsubscribe", "mail.open_note",
}


def _fill(rule) -> str:
    """Build a URL for ``rule`` with harmless values for its arguments."""
    url = rule.rule
    for converter_arg in rule.arguments:
        converter = rule._converters[converter_arg]
        value = "1" if type(converter).__name__ in ("IntegerConverter", "NumberConverter") else "x"
        if type(converter).__name__ == "AnyConverter":
            value = sorted(converter.items)[0] if hasattr(converter, "items") else "active"
        url = re.sub(rf"<(?:[^>:]+:)?{converter_arg}(?:\([^)]*\))?>", value, url)
    return url


def test_every_endpoint_declares_its_access(app):
    undeclared = [rule.endpoint for rule in app.url_map.iter_rules() if access_of(rule.endpoint) is None]
    assert undeclared == []


def test_public_endpoints_are_exactly_the_listed_ones(app):
    public = {rule.endpoint for rule in app.url_map.iter_rules() if access_of(rule.endpoint) == PUBLIC}
    assert public == PUBLIC_ENDPOINTS


def test_anonymous_users_are_sent_to_login_or_refused_everywhere_else(app, client):
    checked = 0
    for rule in app.url_map.iter_rules():
        if rule.endpoint in PUBLIC_ENDPOINTS:
            continue
        url = _fill(rule)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            response = client.open(url, method=method)
            location = response.headers.get("Location", "")
            # A view that answers scripts (the editor's autosave) says 401 instead: a script cannot sign in.
            signed_out = (response.status_code == 401 and response.mimetype == "application/problem+json"
                          if getattr(app.view_functions[rule.endpoint], JSON_ATTR, False)
                          else response.status_code == 302 and location.startswith("/login"))
            ok = response.status_code in (403, 404) or signed_out
            assert ok, f"{method} {url} answered {response.status_code} {location}"
            checked += 1
    assert checked >= 10


def test_members_cannot_reach_admin_pages(client, login_as, member, admin):
    login_as(member)
    for url in ["/admin/users", f"/admin/users/{admin.id}", "/admin/invitations", "/admin/audit",
                "/admin/projects/new"]:
        assert client.get(url).status_code == 403, url


def test_fred_cannot_change_his_own_role_by_posting(client, login_as, fred, admin):
    login_as(fred)
    response = post_form(client, f"/admin/users/{fred.id}/role", {"role": "admin"}, form_url="/account")
    assert response.status_code == 403
    assert fred.role == "member"


def test_moderators_invite_but_do_not_manage_users(client, login_as, moderator):
    login_as(moderator)
    assert client.get("/admin/invitations").status_code == 200
    assert client.get("/admin/users").status_code == 403


@pytest.mark.parametrize("path", ["/static/hub.css", "/static/hub.js", "/static/favicon.svg"])
def test_assets_are_served_by_the_hub_itself(client, path):
    assert client.get(path).status_code == 200


def test_pages_reference_no_external_assets(client):
    html = client.get("/").get_data(as_text=True)
    for url in re.findall(r'(?:src|href)="([^"]+)"', html):
        assert not re.match(r"^(https?:)?//", url), url
    assert "default-src 'self'" in client.get("/").headers["Content-Security-Policy"]


def test_every_answer_gets_each_security_header_once(client):
    page = client.get("/")
    for name in ("Content-Security-Policy", "X-Content-Type-Options", "X-Frame-Options", "Referrer-Policy",
                 "Permissions-Policy"):
        assert len(page.headers.getlist(name)) == 1, name
    assert page.headers["Cache-Control"] == "private, no-store"  # a page: never in a shared cache
    assert "Strict-Transport-Security" not in page.headers  # plain http: a browser would ignore it
    secure = client.get("/", base_url="https://localhost")
    assert secure.headers.getlist("Strict-Transport-Security") == ["max-age=31536000"]
    asset = client.get("/static/hub.css")
    assert asset.headers["X-Content-Type-Options"] == "nosniff" and "no-store" not in asset.headers.get("Cache-Control", "")


def test_the_session_cookie_follows_a_new_secret_key_and_its_fallbacks(app, client, make_user):
    from tests.helpers import login

    make_user("rotating")
    login(client, "rotating")
    name = app.config["SESSION_COOKIE_NAME"]
    signed_with_the_old_key = client.get_cookie(name, domain="localhost").value

    def account_with_that_cookie() -> int:
        other = app.test_client()
        other.set_cookie(name, signed_with_the_old_key, domain="localhost")
        return other.get("/account").status_code

    assert account_with_that_cookie() == 200
    old = app.secret_key
    app.secret_key = "a-new-secret-key-of-enough-length-for-the-hub-0123456789"
    assert account_with_that_cookie() in (302, 401)  # a new key: the old cookie no longer signs anyone in
    app.config["SECRET_KEY_FALLBACKS"] = [old]
    assert account_with_that_cookie() == 200  # unless the old key is kept as a fallback


# --- forms over https: Origin, else Referer, must be this hub's ---------------------------------

HTTPS = "https://localhost"


def _sign_in_over_https(client, make_user, **headers):
    make_user("secure")
    token = csrf_token_over_https(client)
    return client.post("/login", base_url=HTTPS, headers=headers,
                       data={"csrf_token": token, "login": "secure", "password": PASSWORD})


def csrf_token_over_https(client) -> str:
    html = client.get("/login", base_url=HTTPS).get_data(as_text=True)
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)


@pytest.mark.parametrize("headers", [
    {"Origin": HTTPS},  # what browsers send with every form they post
    {"Referer": f"{HTTPS}/login"},  # a browser that sends no Origin
    {"Origin": "null", "Referer": f"{HTTPS}/login"},  # a privacy-sensitive context: the Referer decides
])
def test_a_form_from_this_hub_is_taken_over_https(client, make_user, headers):
    answer = _sign_in_over_https(client, make_user, **headers)
    assert answer.status_code == 302, answer.get_data(as_text=True)


@pytest.mark.parametrize("headers", [
    {"Origin": "https://evil.example"},
    {"Origin": "https://evil.example", "Referer": f"{HTTPS}/login"},  # the Origin cannot be left out by a page
    {"Referer": "https://evil.example/form"},
    {"Origin": "http://localhost"},  # the same host over plain http is another origin
])
def test_a_form_from_another_site_is_refused_over_https(client, make_user, headers):
    answer = _sign_in_over_https(client, make_user, **headers)
    assert answer.status_code == 400
    assert "secure" not in answer.get_data(as_text=True)  # not signed in


@pytest.mark.parametrize(("language", "says"), [("zh-CN", "浏览器没有说明"), ("en", "Your browser did not say")])
def test_a_form_without_origin_or_referer_gets_a_message_that_says_what_to_change(client, make_user, language, says):
    make_user("secure")
    token = csrf_token_over_https(client)
    answer = client.post("/login", base_url=HTTPS, headers={"Accept-Language": language},
                         data={"csrf_token": token, "login": "secure", "password": PASSWORD})
    assert answer.status_code == 400 and says in answer.get_data(as_text=True)


def test_forms_over_plain_http_need_no_origin_nor_referer(client, make_user):
    make_user("plain")
    assert post_form(client, "/login", {"login": "plain", "password": PASSWORD}).status_code == 302


@pytest.mark.parametrize("lang, members", [("en", r"\d+ members?\b"), ("zh_Hans", r"\d+ 位成员")])
def test_only_members_are_told_how_many_members_the_hub_has(client, login_as, member, lang, members):
    """Its members use drugs or live with HIV: how many they are, and when one joins or leaves, is told to no
    visitor (the home page is cached per audience, so the signed-in page is another entry)."""
    home = client.get(f"/?lang={lang}").get_data(as_text=True)
    assert re.search(r"\d+ (notes?|篇笔记)", home) and not re.search(members, home)
    login_as(member)
    assert re.search(members, client.get(f"/?lang={lang}").get_data(as_text=True))
