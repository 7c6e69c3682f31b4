"""What an API request runs: only what the API needs, and every safeguard it must keep.

A JSON API answers scripts: no page is rendered, no form is posted, and most callers send no
cookie. These tests pin the work the API skips (a user lookup for a caller without the session
cookie, Flask-Limiter's general machinery) and the safeguards it keeps (the access guard, NUL
refusal, security headers, request id and a log line without the query, rate limits, errors in
the caller's language).
"""
from __future__ import annotations

import logging

import pytest
from flask_login import LoginManager

from blueprints.api import limits
from hub import worker
from tests import catalogue
from tests.helpers import login

# Every hook an API request runs, in the order it runs them, and why the API needs it. A hook added
# for the whole app lands here too: decide whether API requests need it (a page-only hook can skip
# the machine blueprints, see blueprints/api/limits.py for hooks that run for those only).
API_BEFORE = (
    "blueprints.web.observability.start_request",  # request id and start time, for the log line
    "blueprints.web.errors._bind_urls_to_base_url",  # a host Werkzeug refused still gets its problem document
    "blueprints.web.security.refuse_nul_bytes",  # a NUL in a parameter is a 400 naming it
    "blueprints.web.access.guard",  # deny by default: every endpoint declares who may call it
    "flask_wtf.csrf.CSRFProtect.init_app.<locals>.csrf_protect",  # the API reads cookie sessions too: an unsafe method would need the token
    "blueprints.web.security.check_same_origin",  # the same, for a form sent over https
    "blueprints.api.limits.check",  # one budget per caller, before the token is refused or anything read
    "blueprints.api.blueprint._refuse_bad_tokens",  # a token that does not work is a 401, never anonymous
)
API_AFTER = (  # in the order they run (Flask runs after-request hooks last-registered first)
    "blueprints.api.blueprint._headers",  # Vary and Cache-Control: answers depend on caller and language
    "blueprints.api.limits.add_headers",  # RateLimit-* and Retry-After
    "blueprints.assets.views._plain_static_cache",  # a no-op but for /static/ (a test of the endpoint)
    "blueprints.web.locale.remember_choice",  # a no-op for the API: ?lang= sets no cookie on a machine's answer
    "blueprints.web.security.set_headers",  # security headers on every answer
    "flask_login.login_manager.LoginManager._update_remember_cookie",  # Flask-Login's; a no-op in this hub
    "blueprints.web.observability.finish_request",  # X-Request-Id, the latency metric, the access log line
)


@pytest.fixture
def hub(app):
    built = catalogue.build()
    worker.run_once(app)  # the search index
    return built


def _name(function) -> str:
    return f"{function.__module__}.{function.__qualname__}"


def test_an_api_request_runs_the_hooks_the_api_needs_and_no_others(app):
    before = [*app.before_request_funcs.get(None, ()), *app.before_request_funcs.get("api", ())]
    after = [*reversed(app.after_request_funcs.get("api", ())), *reversed(app.after_request_funcs.get(None, ()))]
    assert tuple(_name(f) for f in before) == API_BEFORE
    assert tuple(_name(f) for f in after) == API_AFTER
    assert app.teardown_request_funcs.get("api", []) == []  # no context kept per request for the limiter


def test_rate_limits_are_counted_by_the_machine_blueprints_alone(app):
    for name in limits.LIMITED_BLUEPRINTS:
        assert app.before_request_funcs[name][0] is limits.check
        assert app.after_request_funcs[name][0] is limits.add_headers  # runs last of the blueprint's own
    everywhere = [*app.before_request_funcs.get(None, ()), *app.after_request_funcs.get(None, ())]
    assert limits.check not in everywhere and limits.add_headers not in everywhere


def test_a_caller_without_the_session_cookie_is_anonymous_without_a_user_lookup(client, hub, monkeypatch):
    lookups = []
    original = LoginManager._load_user
    monkeypatch.setattr(LoginManager, "_load_user", lambda self: (lookups.append(1), original(self))[1])
    listed = client.get("/api/v1/notes")
    found = client.get("/api/v1/search", query_string={"q": "Kunming"})
    assert listed.status_code == found.status_code == 200 and found.get_json()["total"] == 1
    assert [item["title"] for item in listed.get_json()["items"]] == [n.title for n in reversed(hub.public)]
    assert listed.headers["Cache-Control"] == "no-cache" and "Set-Cookie" not in listed.headers
    assert lookups == []
    login(client, hub.member.username)  # with the session cookie the person is looked up and reads more
    titles = [item["title"] for item in client.get("/api/v1/notes").get_json()["items"]]
    assert {hub.partners.title, hub.members.title} <= set(titles) and lookups


def test_a_session_cookie_that_names_no_session_reads_as_anonymous(client, hub):
    client.set_cookie("session", "not-a-signed-session")
    answer = client.get("/api/v1/notes")
    assert [item["title"] for item in answer.get_json()["items"]] == [n.title for n in reversed(hub.public)]
    assert answer.headers["Cache-Control"] == "no-cache"


def test_an_anonymous_search_keeps_every_safeguard(client, hub, caplog):
    caplog.set_level(logging.INFO, logger="hub.access")
    answer = client.get("/api/v1/search", query_string={"q": "Kunming"}, headers={"X-Request-Id": "partner-0123456789"})
    assert answer.status_code == 200
    assert answer.headers["X-Content-Type-Options"] == "nosniff" and answer.headers["X-Frame-Options"] == "DENY"
    assert "default-src 'self'" in answer.headers["Content-Security-Policy"]
    assert answer.headers["X-Request-Id"] == "partner-0123456789"
    assert {"RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset", "RateLimit-Policy"} <= set(answer.headers.keys())
    assert set(answer.vary) >= {"Authorization", "Cookie", "Accept-Language"}
    lines = [r for r in caplog.records if r.name == "hub.access"]
    assert [(r.endpoint, r.status) for r in lines] == [("api.search", 200)]
    assert "Kunming" not in lines[0].getMessage()  # the query never reaches the log


def test_a_bad_token_and_a_bad_parameter_are_refused_in_the_callers_language(client, hub):
    refused = client.get("/api/v1/search", query_string={"q": "x"}, headers={"Authorization": "Bearer nope"})
    assert refused.status_code == 401 and refused.mimetype == "application/problem+json"
    bad = client.get("/api/v1/search", query_string={"q": "x", "page": "二"}, headers={"Accept-Language": "zh-CN"})
    assert bad.status_code == 400 and "参数" in bad.get_json()["detail"]
    nul = client.get("/api/v1/search", query_string={"q": "a\x00b"})
    assert nul.status_code == 400 and nul.get_json()["errors"][0]["parameter"] == "q"


@pytest.mark.parametrize("path", ["/api/v1/search?q=x&page=abc", "/api/v1/notes", "/notes.atom", "/oai?verb=Identify"])
def test_lang_chooses_a_machines_answer_language_without_setting_a_cookie(client, hub, path):
    answer = client.get(path + ("&" if "?" in path else "?") + "lang=zh_Hans")
    assert "Set-Cookie" not in answer.headers
    page = client.get("/?lang=zh_Hans")  # a page for a person keeps the choice
    assert "hub_lang=zh_Hans" in page.headers.get("Set-Cookie", "")


def test_an_api_error_answers_in_the_language_lang_chose(client, hub):
    bad = client.get("/api/v1/search", query_string={"q": "x", "page": "abc", "lang": "zh_Hans"})
    assert bad.status_code == 400 and "参数" in bad.get_json()["detail"] and "Set-Cookie" not in bad.headers
