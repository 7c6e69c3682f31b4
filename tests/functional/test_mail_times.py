"""Times in mails: one format in the reader's language, in the reader's time zone, with that zone named."""
from __future__ import annotations

import datetime as dt
import re
import zoneinfo

import pytest
import sqlalchemy as sa

from hub.extensions import db
from hub.models import Invitation, PasswordReset
from tests.functional.test_mail import deliver
from tests.helpers import login, post_form
from tests.smtp import html_of, text_of


@pytest.fixture
def app(mail_app):
    return mail_app


def _invite(app, client, admin, smtp_server, language: str):
    login(client, admin.username)
    post_form(client, "/admin/invitations", {"role": "member", "project": "", "days": 14, "note": "",
                                             "email": "new.person@example.net", "language": language})
    deliver(app)
    [message] = smtp_server.to("new.person@example.net")
    return message, db.session.scalar(sa.select(Invitation.expires_at))


def test_an_invitation_in_chinese_gives_its_expiry_with_the_zone_and_says_您_throughout(app, client, admin,
                                                                                       smtp_server):
    message, expires = _invite(app, client, admin, smtp_server, "zh_Hans")
    text = text_of(message)  # no account yet: the hub's default zone (UTC in the tests)
    assert f"有效期至{expires:%Y年%-m月%-d日 %H:%M}（协调世界时）。" in text
    assert "创建您的账号" in text and "创建您的账号" in html_of(message)
    assert "你" not in text and "你" not in html_of(message)


def test_a_reset_in_english_names_the_readers_zone(app, client, member, smtp_server):
    member.locale, member.timezone = "en", "Europe/Berlin"
    db.session.commit()
    post_form(client, "/forgot", {"login": member.username})
    deliver(app)
    [message] = smtp_server.to(member.email)
    stored = db.session.scalar(sa.select(PasswordReset.expires_at))
    expires = stored.replace(tzinfo=dt.timezone.utc).astimezone(zoneinfo.ZoneInfo("Europe/Berlin"))
    season = "Summer" if expires.dst() else "Standard"
    written = re.search(r"The link works once, until (.+)\.\r?\n", text_of(message)).group(1)
    assert written.replace("\u202f", " ") == f"{expires:%B %-d, %Y}, {expires:%-I:%M %p} (Central European {season} Time)"
