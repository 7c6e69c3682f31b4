"""Error pages survive the failure they report: a query that aborted the transaction, a menu that
cannot be read. Exceptions are not propagated here (as in production), so the hub's own 500 path runs."""
from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy import exc as sa_exc

from blueprints.web.access import public
from hub.extensions import db
from hub.services import notes
from tests.helpers import login

pytestmark = pytest.mark.postgres


@pytest.fixture
def app(make_app, postgres_database):
    """A hub on PostgreSQL (for every fixture of this module) whose errors are answered as in
    production, not raised into the test."""
    app = make_app(DATABASE_URL=postgres_database, PROPAGATE_EXCEPTIONS=False)

    @public
    def aborts_the_transaction():
        db.session.execute(sa.text("SELECT 1 / 0"))  # PostgreSQL now refuses every query until a rollback

    app.add_url_rule("/test/aborted", view_func=aborts_the_transaction)
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()


def test_the_error_page_after_a_failed_query_is_the_hubs_page_with_its_menu(app, contributor, moderator):
    note = notes.create_draft(author=contributor, data=notes.NoteInput(
        title="T", summary="S", body="B", language="en", visibility="members"))
    notes.request_changes(notes.submit(note, by=contributor, confirm_privacy=True), by=moderator, message="More.")
    client = app.test_client()
    assert login(client, contributor.username).status_code == 302
    response = client.get("/test/aborted?lang=zh_Hans")
    html = response.get_data(as_text=True)
    assert response.status_code == 500
    assert "出了点问题" in html  # the hub's page in the reader's language
    assert "小李" in html  # the signed-in menu, which needs the database again after the rollback
    assert 'class="count"' in html  # the unread notification was counted


def test_the_error_page_is_shown_signed_out_when_its_own_queries_fail(app, contributor, monkeypatch):
    client = app.test_client()
    assert login(client, contributor.username).status_code == 302

    def broken_menu():
        raise sa_exc.ProgrammingError("SELECT …", {}, Exception("menu query failed"))

    monkeypatch.setitem(app.jinja_env.globals, "unread_notifications", broken_menu)
    response = client.get("/notes/2147483647?lang=zh_Hans")
    html = response.get_data(as_text=True)
    assert response.status_code == 404
    assert "找不到页面" in html
    assert "小李" not in html and 'href="/login' in html  # rendered as to a signed-out reader
