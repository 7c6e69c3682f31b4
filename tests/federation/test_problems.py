"""Errors about other hubs in the reader's language: codes and parameters, translated where shown."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from flask_babel import force_locale

from hub.extensions import db
from hub.federation import problems
from hub.federation.http import SafeHttpClient, UnsafeURLError
from hub.models.federation import Delivery, PeerHub
from tests.helpers import post_form

ROOT = Path(__file__).resolve().parents[2]
PAGE = "/admin/partners/"
CHINESE = re.compile(r"[\u4e00-\u9fff]")


def _codes_in_the_code() -> set[str]:
    """Return every problem code the federation code raises or stores."""
    found = set()
    for path in (ROOT / "hub" / "federation").glob("*.py"):
        text = path.read_text(encoding="utf-8")
        found.update(re.findall(r'\bcode="([a-z_]+)"', text))
        found.update(re.findall(r'\{"code": "([a-z_]+)"', text))
    return found


def test_every_code_the_federation_code_uses_has_words():
    codes = _codes_in_the_code()
    assert len(codes) > 20
    assert codes - set(problems.MESSAGES) == set()


@pytest.mark.parametrize("code", sorted(problems.MESSAGES))
def test_every_problem_reads_in_chinese_and_in_english(app, code):
    problem = {"code": code, "host": "hub-b.example.org", "ip": "10.0.0.5", "status": 503,
               "cause": {"code": "timeout"}}
    with app.test_request_context():
        with force_locale("zh_Hans"):
            chinese = str(problems.explain(problem))
        with force_locale("en"):
            english = str(problems.explain(problem))
    assert CHINESE.search(chinese) and not CHINESE.search(english)
    assert "%(" not in chinese + english


def test_a_blocked_address_is_explained_with_its_host_and_address(app):
    with pytest.raises(UnsafeURLError) as caught:
        SafeHttpClient(resolver=lambda host, port: ["10.1.2.3"]).get("https://hub-b.example.org/actor")
    assert "resolves to blocked address 10.1.2.3" in str(caught.value)  # the log stays English
    with app.test_request_context(), force_locale("zh_Hans"):
        text = str(problems.explain(caught.value))
    assert "hub-b.example.org" in text and "10.1.2.3" in text and "内部网络" in text


def test_a_wrong_address_is_explained_in_chinese_on_the_partners_page(client, login_as, people, peer_server):
    login_as(people["admin"])
    client.get(PAGE + "?lang=zh_Hans")
    page = post_form(client, PAGE, {"address": peer_server.base + "/nothing-here", "follow": "1"}).get_data(as_text=True)
    assert "在这个地址没有找到平台（无法联系到该平台：对方平台返回了错误 404）" in page
    page = post_form(client, PAGE, {"address": peer_server.base, "follow": "1"}).get_data(as_text=True)
    assert "这个地址上没有 ActivityPub 平台回应" in page
    assert "no ActivityPub hub answered" not in page and "could not be reached" not in page


def test_a_loopback_address_is_refused_in_chinese(client, login_as, people):
    login_as(people["admin"])
    client.get(PAGE + "?lang=zh_Hans")
    page = post_form(client, PAGE, {"address": "http://127.0.0.1:9", "follow": "1"}).get_data(as_text=True)
    assert "无法联系到该平台：127.0.0.1 指向内部网络地址（127.0.0.1），平台不会连接这类地址" in page
    assert "resolves to blocked address" not in page


def test_a_failed_delivery_shows_its_problem_in_the_readers_language(client, login_as, people):
    hub = PeerHub(actor_id="https://hub-b.example.org/actor", base_url="https://hub-b.example.org", name="Hub B",
                  inbox_url="https://hub-b.example.org/inbox")
    db.session.add(hub)
    db.session.flush()
    db.session.add(Delivery(peer_id=hub.id, inbox_url=hub.inbox_url, activity_id="urn:x:1", activity={"type": "Create"},
                            state="dead", attempts=10, last_error="HTTP 503 from https://hub-b.example.org/inbox",
                            last_problem={"code": "http_status", "status": 503}))
    db.session.commit()
    login_as(people["admin"])
    chinese = client.get(f"{PAGE}{hub.id}?lang=zh_Hans").get_data(as_text=True)
    assert "对方平台返回了错误 503" in chinese and "HTTP 503 from" not in chinese
    english = client.get(f"{PAGE}{hub.id}?lang=en").get_data(as_text=True)
    assert "the other hub answered with error 503" in english
