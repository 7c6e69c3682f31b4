"""PostgreSQL stops under a live hub (gunicorn, as deployed) and starts again.

While it is down, pages answer 503 with Retry-After and the usual page in the reader's language,
JSON callers a problem document, at once (no waiting on a dead server); liveness still answers
and readiness names the database. When it is back, the very next requests succeed: the pools
drop their dead connections instead of handing them out.
"""
from __future__ import annotations

import re
import time

import pytest
import requests

from blueprints.web.errors import RETRY_AFTER_SECONDS
from hub import create_app
from hub.extensions import db
from hub.models.user import Role
from hub.services import accounts
from tests.helpers import PASSWORD
from tests.pg import start_server
from tests.stack import flask, production_env, start_gunicorn

pytestmark = pytest.mark.postgres
CHINESE = {"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.8"}
UNAVAILABLE_ZH = "平台暂时连不上数据库"


@pytest.fixture
def own_postgres():
    """A PostgreSQL server of this test's own: the test stops it, which the session's server must not be."""
    server = start_server()
    yield server
    server.stop()


def sign_in(session: requests.Session, base: str, username: str) -> None:
    """Sign in through the form, as a browser does."""
    page = session.get(base + "/login").text
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    response = session.post(base + "/login", data={"csrf_token": token, "login": username, "password": PASSWORD},
                            allow_redirects=False)
    assert response.status_code == 302


def csrf_of(session: requests.Session, url: str) -> str:
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', session.get(url).text).group(1)


def test_while_postgresql_is_down_requests_answer_503_and_recover_when_it_is_back(own_postgres, tmp_path):
    url = own_postgres.create_database("hub")
    env = production_env(tmp_path / "instance", url)
    flask(env, "hub", "init")
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "a-test-secret-of-sufficient-length-0123456789", "INSTANCE_PATH": str(tmp_path / "instance")})
    with app.app_context():
        accounts.create_user(accounts.NewAccount(username="lin", pseudonym="小林", password=PASSWORD,
                                                 email="lin@example.org", locale="zh_Hans"), role=Role.CONTRIBUTOR)
        db.session.commit()
        db.engine.dispose()
    hub = start_gunicorn(env, tmp_path / "gunicorn.log", workers=2)
    try:
        author = requests.Session()
        author.headers.update(CHINESE)  # without the database, her saved preference cannot be read
        sign_in(author, hub.url, "lin")
        token = csrf_of(author, hub.url + "/notes/new")
        draft = {"csrf_token": token, "title": "夜间外展", "summary": "一句话。", "body": "我们做了什么。",
                 "language": "zh_Hans", "visibility": "members"}
        saved = author.post(hub.url + "/notes/autosave", data=draft)
        assert saved.status_code == 200 and saved.json()["ok"] is True
        for _ in range(6):  # every process holds pooled connections that are about to die
            assert requests.get(hub.url + "/", headers=CHINESE).status_code == 200

        own_postgres.halt()
        started = time.monotonic()
        page = requests.get(hub.url + "/notes", headers=CHINESE)
        assert page.status_code == 503 and page.headers["Retry-After"] == str(RETRY_AFTER_SECONDS)
        assert page.headers["Content-Type"].startswith("text/html")
        assert '<html lang="zh-Hans">' in page.text and UNAVAILABLE_ZH in page.text
        mine = author.get(hub.url + "/notes/mine")  # signed in: the session cannot even be looked up
        assert mine.status_code == 503 and UNAVAILABLE_ZH in mine.text and "Retry-After" in mine.headers
        english = requests.get(hub.url + "/")
        assert english.status_code == 503 and "cannot reach its database" in english.text
        autosave = author.post(hub.url + "/notes/autosave", data={**draft, "note_id": str(saved.json()["id"]),
                                                                  "body": "离线时写的。"})
        assert autosave.status_code == 503 and autosave.headers["Content-Type"] == "application/problem+json"
        assert autosave.json()["status"] == 503 and autosave.headers["Retry-After"] == str(RETRY_AFTER_SECONDS)
        api = requests.get(hub.url + "/api/v1/search", params={"q": "外展"})
        assert api.status_code == 503 and api.headers["Content-Type"] == "application/problem+json"
        assert requests.get(hub.url + "/healthz").status_code == 200  # liveness: the processes are fine
        ready = requests.get(hub.url + "/readyz")
        assert ready.status_code == 503 and "database" in ready.json()["failed"]
        assert time.monotonic() - started < 10  # refused connections fail fast: no request waited

        own_postgres.resume()
        for _ in range(6):  # the first requests after the restart, across both processes
            assert requests.get(hub.url + "/", headers=CHINESE).status_code == 200
        assert author.get(hub.url + "/notes/mine").status_code == 200  # still signed in
        again = author.post(hub.url + "/notes/autosave", data={**draft, "note_id": str(saved.json()["id"]),
                                                               "body": "离线时写的。"})
        assert again.status_code == 200 and again.json()["ok"] is True
    finally:
        hub.stop()
    log = hub.output()
    assert "database unavailable (OperationalError): answered 503" in log
    assert "Traceback" not in log  # an outage is not a bug: no 500 path ran
