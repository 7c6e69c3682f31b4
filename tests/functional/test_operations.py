"""What operators and their machines read: liveness, readiness, metrics, the admin's System page and
the logs, which never hold note text, search words or personal data."""
from __future__ import annotations

import datetime as dt
import json
import logging
import re

import pytest
import sqlalchemy as sa

import search_index
from hub import events, worker
from hub.extensions import db
from hub.logs import JsonFormatter
from hub.models import WorkerHeartbeat
from hub.models.base import utcnow
from hub.worker import Heartbeat
from tests.helpers import login, post_form

TOKEN = "metrics-token-for-tests"
PERSONAL = ["13812345678", "110101199003077777", "zhang.san@example.org", "张三丰", "人民南路12号"]
QUERY = "美沙酮 夜间外展 张三丰"


def ready(client):
    response = client.get("/readyz")
    return response.status_code, response.get_json()


def worker_beats(app) -> None:
    """Write this node's heartbeat as a running worker would."""
    Heartbeat(app).beat(force=True)


# --- liveness and readiness ----------------------------------------------------------------------

@pytest.fixture
def unreachable(tmp_path):
    """A hub whose PostgreSQL server does not exist (a port nobody listens on)."""
    from hub import create_app
    from tests.conftest import TEMPLATES, FreshContextClient, _test_config

    app = create_app(_test_config(tmp_path, {"DATABASE_URL": "postgresql://hub@127.0.0.1:9/nowhere"}))
    app.test_client_class = FreshContextClient
    app.jinja_env.bytecode_cache = TEMPLATES
    return app


def test_liveness_needs_no_database_and_readiness_says_the_database_failed(unreachable):
    client = unreachable.test_client()
    assert client.get("/healthz").status_code == 200
    status, body = ready(client)
    assert status == 503 and body["status"] == "not ready"
    assert "database" in body["failed"] and body["checks"]["database"]["ok"] is False
    assert client.get("/readyz").headers["Retry-After"]


def test_readiness_follows_the_index_the_worker_and_its_lag(app, client, contributor, moderator):
    status, body = ready(client)
    assert status == 503 and set(body["failed"]) == {"index", "worker", "lag"}  # nothing ran yet
    search_index.rebuild()
    worker_beats(app)
    status, body = ready(client)
    assert (status, body["failed"], body["status"]) == (200, [], "ready")
    assert body["checks"]["worker"]["ok"] and body["checks"]["lag"]["detail"].startswith("0 events")

    app.config["READY_MAX_LAG"] = 1
    for n in range(3):
        events.record("note.published", subject_type="note", subject_id=1000 + n)
    db.session.commit()
    worker_beats(app)
    status, body = ready(client)
    assert status == 503 and body["failed"] == ["lag"] and "3 events behind" in body["checks"]["lag"]["detail"]

    db.session.execute(sa.update(WorkerHeartbeat).values(beat_at=utcnow() - dt.timedelta(minutes=5)))
    db.session.commit()
    status, body = ready(client)
    assert status == 503 and "worker" in body["failed"] and "300 s ago" in body["checks"]["worker"]["detail"]
    # A stopped worker's last figure is no reading of now: the check says so rather than "3 events behind (at most 1)".
    assert body["checks"]["lag"]["detail"] == "unknown: the worker is not running (3 events behind at its last heartbeat)"


# --- metrics -------------------------------------------------------------------------------------

def test_metrics_do_not_exist_without_a_token(client):
    assert client.get("/metrics").status_code == 404


def test_metrics_need_the_token_and_label_requests_by_endpoint_never_by_path(app, client, contributor):
    app.config["METRICS_TOKEN"] = TOKEN
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    client.get(f"/notes/424242?q={QUERY}")
    client.get("/search", query_string={"q": QUERY})
    search_index.rebuild()
    worker_beats(app)
    response = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200 and response.mimetype == "text/plain"
    text = response.get_data(as_text=True)
    assert re.search(r'hub_http_request_duration_seconds_count\{endpoint="notes.detail",method="GET",status="404"\} '
                     r'[1-9]', text)
    assert 'endpoint="search.search"' in text
    assert "424242" not in text and "美沙酮" not in text and "/notes" not in text
    for gauge in ("hub_database_up 1.0", "hub_event_log_head", "hub_worker_up{node=", "hub_event_lag_events{",
                  'hub_federation_deliveries{state="pending"} 0.0', "hub_search_index_available 1.0",
                  "hub_search_index_generation"):
        assert gauge in text, gauge


# --- the admin's System page ---------------------------------------------------------------------

def test_the_system_page_warns_when_the_worker_is_not_running_in_the_readers_language(app, client, admin, member):
    login(client, admin.username)
    page = client.get("/admin/system?lang=zh_Hans").get_data(as_text=True)
    assert 'role="alert"' in page and "后台程序" in page
    worker_beats(app)
    page = client.get("/admin/system?lang=en").get_data(as_text=True)
    assert 'role="alert"' not in page and "running" in page
    assert "0 changes" in page or "0 change" in page
    db.session.execute(sa.update(WorkerHeartbeat).values(beat_at=utcnow() - dt.timedelta(hours=1)))
    db.session.commit()
    page = client.get("/admin/system?lang=en").get_data(as_text=True)
    assert "The worker is not running on this server." in page and "Its last sign of life was at" in page
    member_client = app.test_client()
    login(member_client, member.username)
    assert member_client.get("/admin/system").status_code == 403


def test_the_system_page_names_every_task_in_the_readers_language(app, client, admin):
    login(client, admin.username)
    worker_beats(app)
    names = [consumer.name for consumer in worker.consumers(app)]
    assert len(names) >= 4
    for lang in ("zh_Hans", "en"):
        page = client.get(f"/admin/system?lang={lang}").get_data(as_text=True)
        assert all(f"<td>{name}</td>" not in page for name in names), lang  # a raw task name: no label


# --- logs ----------------------------------------------------------------------------------------

@pytest.fixture
def json_app(make_app):
    app = make_app(LOG_FORMAT="json")
    with app.app_context():
        yield app
        db.session.remove()


def test_logs_hold_no_note_text_query_or_personal_data_and_name_each_request(json_app, caplog):
    from hub.models.user import Role
    from hub.services import accounts

    accounts.create_user(accounts.NewAccount("lee", "小李", "correct horse battery"), role=Role.CONTRIBUTOR)
    db.session.commit()
    search_index.rebuild()
    caplog.set_level(logging.DEBUG)
    client = json_app.test_client()
    login(client, "lee")
    note = {"title": f"外展 {PERSONAL[3]}", "summary": f"电话 {PERSONAL[0]}",
            "body": "；".join(PERSONAL), "language": "zh_Hans", "visibility": "members", "save": "1"}
    written = post_form(client, "/notes/new", note)
    assert written.status_code in (200, 302)
    post_form(client, "/notes/autosave", {**note, "body": "再写一次 " + PERSONAL[1]}, form_url="/notes/new")
    searched = client.get("/search", query_string={"q": QUERY}, headers={"X-Request-Id": "proxy-id-0123456789"})
    assert searched.headers["X-Request-Id"] == "proxy-id-0123456789"
    client.get("/notes?project=%00")  # a refused request is logged too, without its query

    lines = [JsonFormatter().format(record) for record in caplog.records]
    assert lines and all("\n" not in line and json.loads(line) for line in lines)
    everything = "\n".join(lines) + "\n".join(r.getMessage() for r in caplog.records)
    for secret in [*PERSONAL, "美沙酮", "夜间外展", "%00", "project="]:
        assert secret not in everything, secret
    access = [json.loads(line) for line in lines if json.loads(line)["logger"] == "hub.access"]
    assert {(a["method"], a["endpoint"]) for a in access} >= {("POST", "notes.new"), ("GET", "search.search"),
                                                              ("POST", "notes.autosave"), ("GET", "notes.index")}
    search_line = next(a for a in access if a["endpoint"] == "search.search")
    assert search_line["request_id"] == "proxy-id-0123456789" and search_line["status"] == 200
    assert "duration_ms" in search_line and "client_ip" not in search_line  # no address unless asked for


def test_a_failing_request_is_logged_by_its_route_never_by_its_path(make_app, caplog):
    from blueprints.web.access import public

    app = make_app(PROPAGATE_EXCEPTIONS=False)

    @public
    def fails(token):
        raise RuntimeError("a bug")

    app.add_url_rule("/test/fails/<token>", view_func=fails)
    response = app.test_client().get("/test/fails/secret-invitation-token?q=13812345678")
    assert response.status_code == 500
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "Exception on /test/fails/<token> [GET]" in logged
    assert "secret-invitation-token" not in logged and "13812345678" not in logged


def test_the_access_log_names_the_client_only_when_the_operator_asks(make_app, caplog):
    app = make_app(LOG_CLIENT_IP=True)
    caplog.set_level(logging.INFO, logger="hub.access")
    app.test_client().get("/healthz", environ_base={"REMOTE_ADDR": "192.0.2.7"})
    assert [r.client_ip for r in caplog.records if r.name == "hub.access"] == ["192.0.2.7"]


def test_behind_the_documented_proxy_the_client_is_the_one_nginx_names(make_app, caplog):
    app = make_app(LOG_CLIENT_IP=True, PROXIES=1)
    caplog.set_level(logging.INFO, logger="hub.access")
    app.test_client().get("/healthz", environ_base={"REMOTE_ADDR": "127.0.0.1"},
                          headers={"X-Forwarded-For": "198.51.100.4", "X-Forwarded-Proto": "https"})
    assert [r.client_ip for r in caplog.records if r.name == "hub.access"] == ["198.51.100.4"]
