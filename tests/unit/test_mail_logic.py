"""The logic under the mail: periods in each reader's time zone, the outbox's keys and claims, sealed tokens,
unsubscribe tokens, what a follow is about."""
from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest
import sqlalchemy as sa

from hub.config import ConfigError
from hub.extensions import db
from hub.mail import compose, digest, outbox
from hub.models import Frequency, OutgoingMail
from hub.models.base import utcnow
from hub.services import accounts, follows, mail_settings
from hub.services.errors import ServiceError
from tests.helpers import PASSWORD

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")


@pytest.mark.parametrize("utc, frequency, expected", [
    ("2026-12-07 22:59", Frequency.DAILY, "2026-12-07"),  # 06:59 on the 8th in Shanghai: still the 7th's
    ("2026-12-07 23:00", Frequency.DAILY, "2026-12-08"),  # 07:00 on the 8th: a new day
    ("2026-12-06 22:59", Frequency.WEEKLY, "2026-W49"),  # Monday 7 December, 06:59 in Shanghai
    ("2026-12-06 23:00", Frequency.WEEKLY, "2026-W50"),  # Monday 07:00: a new week
])
def test_digest_periods_turn_at_seven_in_the_readers_time_zone(app, utc, frequency, expected):
    assert digest.period(dt.datetime.fromisoformat(utc), SHANGHAI, frequency) == expected


def test_dates_in_a_mail_are_in_the_readers_time_zone_and_language(app):
    reader = compose.Reader(None, "x@example.org", "zh_Hans", SHANGHAI)
    assert reader.when(dt.datetime(2026, 12, 7, 23, 30)) == "2026年12月8日 07:30（中国标准时间）"
    berlin = compose.Reader(None, "x@example.org", "en", zoneinfo.ZoneInfo("Europe/Berlin"))
    assert berlin.when(dt.datetime(2026, 7, 7, 23, 30)).replace("\u202f", " ") == \
        "July 8, 2026, 1:30 AM (Central European Summer Time)"
    assert compose.Reader(None, "x@example.org", "en", zoneinfo.ZoneInfo("UTC")).day(
        dt.datetime(2026, 12, 7, 23, 30)) == "Dec 7, 2026"


def test_a_key_is_queued_once_and_a_mail_is_claimed_once(any_db_app):
    first = outbox.queue("comment:1:user:1", kind="comment", payload={"comment_id": 1})
    db.session.commit()
    assert outbox.queue("comment:1:user:1", kind="comment", payload={"comment_id": 1}) is None
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OutgoingMail)) == 1
    assert outbox.claim(first) is True
    assert outbox.claim(first) is False  # a second worker finds it taken


def test_pruning_forgets_old_mails_but_each_persons_newest_digest(any_db_app):
    old = utcnow() - dt.timedelta(days=60)
    for key, kind, state in [("a", "comment", "sent"), ("b", "digest.weekly", "empty"), ("c", "digest.weekly", "sent"),
                             ("d", "comment", "pending")]:
        mail = outbox.queue(key, kind=kind, state=state)
        mail.created_at = old
    db.session.commit()
    assert outbox.prune() == 2
    assert set(db.session.scalars(sa.select(OutgoingMail.key))) == {"c", "d"}


def test_sealed_tokens_open_only_with_the_same_secret_key(app):
    sealed = outbox.seal("one-time-token")
    assert "one-time-token" not in sealed
    assert outbox.unseal(sealed) == "one-time-token"
    app.config["SECRET_KEY"] = "another secret"
    assert outbox.unseal(sealed) is None


def test_unsubscribe_tokens_name_a_person_and_a_kind_and_cannot_be_forged(app, member):
    token = mail_settings.unsubscribe_token(member, "follows")
    found = mail_settings.read_token(token)
    assert (found.user.id, found.kind) == (member.id, "follows")
    for bad in (token[:-2] + "xx", "e30.nothing", mail_settings.unsubscribe_token(member, "account")):
        with pytest.raises(ServiceError):
            mail_settings.read_token(bad)


def test_defaults_are_modest_and_flags_are_only_for_moderators(app, member, moderator):
    assert mail_settings.choices(member).kinds == {"review": True, "comments": True, "follows": True, "flags": True}
    assert mail_settings.choices(member).topic_subjects is False
    assert not mail_settings.wants(member, "flags") and mail_settings.wants(moderator, "flags")
    member.email = None
    assert not mail_settings.wants(member, "review")


def test_starttls_and_ssl_exclude_each_other(make_app):
    with pytest.raises(ConfigError, match="HUB_MAIL_USE_TLS"):
        make_app(MAIL_USE_TLS=True, MAIL_USE_SSL=True)


def test_an_invitation_address_needs_a_mail_server_and_a_plausible_form(app, admin):
    with pytest.raises(ServiceError, match="sends no e-mail"):
        accounts.create_invitation(by=admin, role=accounts.Role.MEMBER, email="a@example.org")
    app.config["MAIL_SERVER"] = "127.0.0.1"
    with pytest.raises(ServiceError, match="e-mail address"):
        accounts.create_invitation(by=admin, role=accounts.Role.MEMBER, email="not an address")
    invitation, _token = accounts.create_invitation(by=admin, role=accounts.Role.MEMBER, email="A@Example.org")
    mail = db.session.scalar(sa.select(OutgoingMail))
    assert (mail.kind, mail.address, mail.payload) == ("invitation", "a@example.org", {"invitation_id": invitation.id})
    assert _token not in (mail.sealed or "")


def test_a_follow_target_is_resolved_and_bounded(app):
    assert follows.fold_place("  Ｃｈｅｎｇｄｕ   City ") == "chengdu city"
    query, filters = follows.clean_search(" naloxone  kits ", {"topic": "x", "_external": "1", "Bad": "y", "year": ""})
    assert (query, filters) == ("naloxone kits", {"topic": "x"})
    with pytest.raises(ServiceError):
        follows.target("nonsense", value="x")
    assert follows.target("place", value="成都").key == follows.target("place", value=" 成都 ").key
    assert follows.target("search", query="a", filters={"topic": "x"}).key != follows.target("search", query="a").key


def test_people_with_an_account_and_a_password_get_reset_mail_only_with_an_address(app):
    app.config["MAIL_SERVER"] = "127.0.0.1"
    user = accounts.create_user(accounts.NewAccount(username="noaddr", pseudonym="No Addr", password=PASSWORD))
    db.session.commit()
    assert accounts.request_password_reset("noaddr") is None  # nothing to log with a mail server
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OutgoingMail)) == 0
    assert user.id


def test_due_digests_are_found_for_all_readers_in_a_few_queries(any_db_app):
    from hub.models import Follow, Term
    from hub.models.user import User

    term = Term(kind="topic", slug="t", name_zh="t", name_en="t")
    db.session.add(term)
    readers = [User(username=f"r{n}", pseudonym=f"R{n}", password_hash="x", email=f"r{n}@example.org",
                    timezone="Asia/Shanghai" if n % 2 else None) for n in range(3)]
    db.session.add_all(readers)
    db.session.flush()
    for reader in readers:
        for frequency in ("daily", "weekly"):
            db.session.add(Follow(user_id=reader.id, kind="topic", key=f"term:{term.id}:{frequency}", term_id=term.id,
                                  frequency=frequency))
    db.session.commit()
    now = dt.datetime(2026, 12, 7, 12, 0)
    found = digest.due(now)
    assert len(found) == 6 and {f for _u, f, _k in found} == {Frequency.DAILY, Frequency.WEEKLY}
    assert digest.queue_digests(now=now) == 0  # first periods: markers only
    assert digest.due(now) == []
    assert len(digest.due(now + dt.timedelta(days=1))) == 3  # a day later: the daily ones
