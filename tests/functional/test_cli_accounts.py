"""``flask hub set-password``: what to do when a (demo) password is forgotten."""
from __future__ import annotations

import sqlalchemy as sa

from hub import demo
from hub.extensions import db
from hub.models.audit import AuditEntry
from tests.helpers import login


def test_set_password_lets_the_account_sign_in_with_the_new_one_and_signs_out_the_old_sessions(app, runner):
    runner.invoke(args=["hub", "demo"])
    browser = app.test_client()
    assert login(browser, "peer", demo.PASSWORD).status_code == 302
    result = runner.invoke(args=["hub", "set-password", "peer"], input="a new long password\na new long password\n")
    assert result.exit_code == 0, result.output
    assert "a new long password" not in result.output
    assert browser.get("/account").status_code == 302  # the old browser was signed out
    assert login(app.test_client(), "peer", demo.PASSWORD).status_code != 302
    assert login(app.test_client(), "peer", "a new long password").status_code == 302
    entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "user.password_set"))
    assert entry is not None and entry.actor_id is None


def test_set_password_refuses_an_unknown_account_and_a_weak_password(app, runner):
    runner.invoke(args=["hub", "demo"])
    unknown = runner.invoke(args=["hub", "set-password", "nobody", "--password", "long enough pw"])
    assert unknown.exit_code != 0 and "nobody" in unknown.output
    weak = runner.invoke(args=["hub", "set-password", "peer", "--password", "short"])
    assert weak.exit_code != 0 and "10" in weak.output
    assert login(app.test_client(), "peer", demo.PASSWORD).status_code == 302
