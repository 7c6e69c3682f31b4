"""Forms sent twice at the same moment (a double tap on a slow phone, a retry while the first is still on
its way, two web processes): what they ask for happens once, and neither answer is an error. Sent from
real threads, as in tests/functional/test_account_races.py, on SQLite and on PostgreSQL.
"""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from hub.extensions import db
from hub.models import Follow, Term
from hub.models.user import Role
from hub.services import accounts
from tests.helpers import PASSWORD, all_at_once, count, csrf_token, login

pytestmark = pytest.mark.postgres
TRIES = 4


@pytest.fixture
def writer(shared_app):
    user = accounts.create_user(accounts.NewAccount(username="lee", pseudonym="小李", password=PASSWORD),
                                role=Role.CONTRIBUTOR)
    db.session.add(Term(kind="topic", slug="methadone", name_zh="美沙酮维持治疗", name_en="Methadone maintenance"))
    db.session.commit()
    return user


def _tabs(app, username: str, url: str, n: int = TRIES) -> list[tuple]:
    """Sign ``username`` in on ``n`` browsers; return each with the form token of ``url``'s page."""
    browsers = [app.test_client() for _ in range(n)]
    for browser in browsers:
        assert login(browser, username).status_code == 302
    return [(browser, csrf_token(browser, url)) for browser in browsers]


def test_a_follow_sent_from_several_tabs_at_once_is_one_follow(shared_app, writer):
    tabs = _tabs(shared_app, "lee", "/following")
    answers = all_at_once([lambda browser=browser, token=token: browser.post("/following", data={
        "csrf_token": token, "kind": "topic", "value": "methadone", "frequency": "daily"}) for browser, token in tabs])

    assert [answer.status_code for answer in answers] == [302] * TRIES
    db.session.expire_all()
    (follow,) = db.session.scalars(sa.select(Follow)).all()
    assert follow.user_id == writer.id and follow.frequency == "daily" and follow.kind == "topic"
    page = tabs[0][0].get("/following?lang=zh_Hans").get_data(as_text=True)
    assert page.count("美沙酮维持治疗") >= 1 and count(Follow) == 1
