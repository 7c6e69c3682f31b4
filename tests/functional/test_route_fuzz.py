"""Every route of the URL map, fuzzed on PostgreSQL as each role: never a server error.

On SQLite the hub answered every fuzzed request; on PostgreSQL ids beyond int4 ("integer out of
range") and NUL bytes in text made queries fail, and the error page itself then queried inside
the aborted transaction. The property walks the app's own URL map (so a new route is fuzzed
the day it is added) as an anonymous visitor, a member, a contributor, a moderator and an
admin, with hostile path arguments, query strings and form fields (a valid CSRF token, so
forms are read). Under TESTING an exception propagates, so a 500 fails the example with its
traceback. Behaviour the property found is pinned by the deterministic tests below it.
"""
from __future__ import annotations

import re
from urllib.parse import quote

import pytest
import sqlalchemy as sa
from flask import Flask
from hypothesis import HealthCheck, given, settings, strategies as st
from werkzeug.datastructures import MultiDict
from werkzeug.routing import Rule

import search_index
from hub.extensions import db
from hub.models import Note
from hub.models.base import LARGEST_ID
from hub.models.user import Role
from hub.services import accounts, discussion, notes, projects, vocabulary
from tests.helpers import PASSWORD, csrf_token, login

pytestmark = pytest.mark.postgres

ROLES = ("anonymous", "member", "contributor", "moderator", "admin")
# Readiness answers 503 by design here: no worker runs beside the test (tests/functional/test_operations.py).
NOT_READY = {"ops.readyz"}
# Signing out or changing one's own password would quietly turn the rest of the run anonymous.
KEEPS_SESSION = {"auth.logout", "auth.password"}
NUMBERS = [0, 1, 2, 3, 7, LARGEST_ID, LARGEST_ID + 1, 2**32, 2**63 - 1, 2**63, 10**30]
TEXTS = ["", "x", "\x00", "a\x00b", "%00", "人民路12号", "13812345678", "../..", "<script>", "' OR 1=1 --",
         "\u202e", "😀", "9" * 40, "-1", "1e308", "zh_Hans", "en", "public", "admin", " ", "a" * 3000]
TEXT = st.one_of(st.sampled_from(TEXTS), st.text(max_size=30))
NUMBER_TEXT = st.one_of(st.sampled_from(NUMBERS).map(str), st.integers(-10**20, 10**20).map(str))
VALUE = st.one_of(TEXT, NUMBER_TEXT)
# The parameter names the views read, so that fuzzed values reach them (unknown names are drawn too).
PARAMS = ["q", "page", "per_page", "project", "topic", "population", "place", "language", "lang", "year",
          "origin", "sort", "expand", "role", "status", "next", "resource", "kind", "state", "note_id",
          "title", "summary", "body", "visibility", "message", "reason", "detail", "username", "pseudonym",
          "email", "password", "confirm", "login", "slug", "name_zh", "name_en", "value", "address", "trust",
          "days", "topics", "tags", "word", "concept", "terms_zh", "terms_en", "file", "locale", "timezone"]
PAIRS = st.lists(st.tuples(st.one_of(st.sampled_from(PARAMS), TEXT), VALUE), max_size=6)


@pytest.fixture
def people(postgres_app) -> dict:
    """Accounts of every role in one project, notes in each state, a comment and an invitation."""
    vocabulary.seed()
    project = projects.save(projects.ProjectData(slug="chengdu", name_zh="成都中心", name_en="Chengdu Centre",
                                                 city="成都", province="四川", country="CN"), by=None)
    users = {}
    for role in ROLES[1:]:
        users[role] = accounts.create_user(
            accounts.NewAccount(username=role, pseudonym=f"{role} P", password=PASSWORD, email=f"{role}@example.org"),
            role=Role(role), project=project)
    db.session.commit()
    author, moderator = users["contributor"], users["moderator"]

    def draft(title: str) -> Note:
        return notes.create_draft(author=author, data=notes.NoteInput(
            title=title, summary="One sentence.", body="What we did.", language="en", visibility="public"))

    published = notes.approve(notes.submit(draft("Published"), by=author, confirm_privacy=True), by=moderator)
    discussion.add_comment(published, by=users["member"], body="Same here.")
    notes.submit(draft("Submitted"), by=author, confirm_privacy=True)
    draft("Draft")
    accounts.create_invitation(by=users["admin"], role=Role.MEMBER)
    search_index.rebuild()  # without an index, search answers 503 on purpose
    return users


@pytest.fixture
def clients(postgres_app, people) -> dict:
    """A test client per role, signed in, with the CSRF token of its session."""
    found = {}
    for role in ROLES:
        client = postgres_app.test_client()
        if role != "anonymous":
            assert login(client, role).status_code == 302
        found[role] = (client, csrf_token(client, "/login" if role == "anonymous" else "/account"))
    return found


def fuzzable_rules(app: Flask) -> list[Rule]:
    """Return every rule of the URL map but the static files (served by Werkzeug, no database)."""
    return sorted((r for r in app.url_map.iter_rules() if r.endpoint != "static"), key=lambda r: r.rule)


def argument_values(rule: Rule) -> st.SearchStrategy[dict[str, str]]:
    """Draw a value for every argument of ``rule``, by its converter."""
    drawn = {}
    for name in rule.arguments:
        kind = type(rule._converters[name]).__name__
        if kind == "AnyConverter":
            choices = sorted(rule._converters[name].items)
            drawn[name] = st.one_of(st.sampled_from(choices), TEXT)
        elif "Integer" in kind or kind == "IdConverter":
            drawn[name] = st.one_of(st.sampled_from(NUMBERS).map(str), st.integers(0, 2**64).map(str), TEXT)
        else:
            drawn[name] = TEXT
    return st.fixed_dictionaries(drawn)


def build_url(rule: Rule, values: dict[str, str], pairs: list[tuple[str, str]]) -> str:
    """Put ``values`` into the rule's placeholders (percent-encoded) and ``pairs`` into the query string."""
    url = rule.rule
    for name, value in values.items():
        url = re.sub(rf"<(?:[^>:]+:)?{name}(?:\([^)]*\))?>", quote(value, safe="") or "x", url)
    if pairs:
        url += "?" + "&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in pairs)
    return url


@st.composite
def requests(draw, rules: list[Rule]):
    """Draw a role, a rule, one of its methods, its arguments, a query string and a form."""
    rule = draw(st.sampled_from(rules))
    role = draw(st.sampled_from(ROLES))
    method = draw(st.sampled_from(sorted(rule.methods - {"HEAD", "OPTIONS"})))
    url = build_url(rule, draw(argument_values(rule)), draw(PAIRS))
    form = draw(PAIRS) if method == "POST" else []
    return role, rule.endpoint, method, url, form


def test_every_route_answers_fuzzed_requests_without_a_server_error(postgres_app, clients):
    rules = fuzzable_rules(postgres_app)
    assert len(rules) > 80  # the whole map, not a handful
    seen: dict[str, int] = {}

    @settings(max_examples=1500, deadline=None, database=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                     HealthCheck.data_too_large])
    @given(drawn=requests(rules))
    def property_(drawn):
        role, endpoint, method, url, form = drawn
        if role != "anonymous" and endpoint in KEEPS_SESSION:
            return
        client, token = clients[role]
        data = MultiDict([("csrf_token", token), *form]) if method == "POST" else None
        response = client.open(url, method=method, data=data)
        assert response.status_code < 500 or (endpoint in NOT_READY and response.status_code == 503), (
            role, method, url, response.status_code)
        seen[endpoint] = seen.get(endpoint, 0) + 1

    property_()
    assert len(seen) > len(rules) // 2  # the draw spreads over the map, not over a few rules


def plain_values(rule: Rule) -> dict[str, str]:
    """Return ordinary arguments for ``rule``: the first choice of a fixed set, an id of 1, a word otherwise."""
    values = {}
    for name in rule.arguments:
        converter = rule._converters[name]
        kind = type(converter).__name__
        if kind == "AnyConverter":
            values[name] = sorted(converter.items)[0]
        elif "Integer" in kind or kind == "IdConverter":
            values[name] = "1"
        else:
            values[name] = "x"
    return values


def test_every_route_answers_every_role_and_method_without_a_server_error(postgres_app, clients):
    """A deterministic sweep beside the random draw: each endpoint is reached as each role, by each method.

    Hypothesis's draw is not uniform over the map, so a route can go unvisited for many runs; this
    walk visits all of them with ordinary arguments (hostile ids and NUL bytes on every route are
    pinned by the tests below).
    """
    rules = fuzzable_rules(postgres_app)
    reached = set()
    for rule in rules:
        for role in ROLES:
            if role != "anonymous" and rule.endpoint in KEEPS_SESSION:
                continue
            client, token = clients[role]
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                url = build_url(rule, plain_values(rule), [("page", "2")])
                data = MultiDict([("csrf_token", token), ("body", "x")]) if method == "POST" else None
                response = client.open(url, method=method, data=data)
                assert response.status_code < 500 or (
                    rule.endpoint in NOT_READY and response.status_code == 503), (
                    role, method, url, response.status_code)
                reached.add(rule.endpoint)
    assert reached == {r.endpoint for r in rules}


def int_rules(app: Flask) -> list[Rule]:
    """Return the rules with an id in their path."""
    return [r for r in fuzzable_rules(app) if any(type(c).__name__ == "IdConverter" for c in r._converters.values())]


def test_an_id_beyond_the_database_column_is_not_found_on_every_route(postgres_app, clients):
    client, token = clients["admin"]
    rules = int_rules(postgres_app)
    assert len(rules) >= 13
    for rule in rules:
        values = {name: str(LARGEST_ID + 1) if type(c).__name__ == "IdConverter" else sorted(getattr(c, "items", ["x"]))[0]
                  for name, c in rule._converters.items()}
        url = build_url(rule, values, [])
        method = "GET" if "GET" in rule.methods else "POST"
        response = client.open(url, method=method, data={"csrf_token": token} if method == "POST" else None)
        assert response.status_code == 404, (url, response.status_code)
    # The largest id the column holds is an ordinary miss.
    assert client.get(f"/notes/{LARGEST_ID}").status_code == 404


def test_a_nul_byte_in_a_path_or_query_is_a_bad_request_in_the_readers_language(clients):
    client, _token = clients["admin"]
    for url in ["/projects/%00", "/admin/users?q=%00", "/notes?project=%00", "/search?q=a%00b", "/notes?%00=1"]:
        response = client.get(url + ("&" if "?" in url else "?") + "lang=zh_Hans")
        assert response.status_code == 400, url
        assert "平台无法识别这个请求" in response.get_data(as_text=True)  # the usual page
    response = client.get("/api/v1/search?q=%00")
    assert response.status_code == 400 and response.mimetype == "application/problem+json"


def test_a_nul_byte_in_a_form_field_is_a_bad_request_and_saves_nothing(postgres_app, clients, people):
    client, token = clients["contributor"]
    before = db.session.scalar(sa.select(sa.func.count()).select_from(Note))
    response = client.post("/notes/new", data={"csrf_token": token, "title": "Night\x00outreach",
                                              "summary": "s", "body": "b", "language": "en", "visibility": "members",
                                              "save": "1"})
    assert response.status_code == 400
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Note)) == before


def test_the_autosave_refuses_a_note_id_beyond_the_column(clients):
    client, token = clients["contributor"]
    response = client.post("/notes/autosave", data={"csrf_token": token, "note_id": str(10**17), "title": "T",
                                                   "summary": "s", "body": "b", "language": "en",
                                                   "visibility": "members"})
    assert response.status_code == 404
    assert response.mimetype == "application/problem+json" and response.get_json()["status"] == 404
