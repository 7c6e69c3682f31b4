"""Migration 0013_s7_accounts: ids never reused on SQLite, skeletons recomputed, tokens of gone accounts removed."""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from flask_migrate import upgrade

from hub.extensions import db
from tests.helpers import empty_database
from hub.text_safety import skeleton


def test_accounts_migration_recomputes_skeletons_and_drops_tokens_of_gone_accounts(any_db_app):
    empty_database()
    upgrade(revision="0011_inbox_retry")
    user = sa.table("user", *(sa.column(name) for name in (
        "id", "username", "pseudonym", "password_hash", "role", "status", "bio", "show_activity", "edits_skip_review",
        "created_at", "password_changed_at")))
    token = sa.table("api_token", *(sa.column(name) for name in (
        "kind", "name", "token_hash", "prefix", "scope", "user_id", "created_at")))
    then, now = dt.datetime(2026, 1, 1), dt.datetime(2026, 6, 1)
    with db.engine.begin() as connection:
        if connection.dialect.name == "sqlite":  # as a database written before foreign keys were enforced
            connection.exec_driver_sql("PRAGMA foreign_keys = OFF")
        for user_id, username, pseudonym in [(1, "amei", "管理员阿梅"), (2, "fake", "管理員阿梅"), (3, "wind", "山 风"),
                                             (4, "wind2", "山风")]:
            connection.execute(user.insert().values(
                id=user_id, username=username, pseudonym=pseudonym, password_hash="x", role="member", status="active",
                bio="", show_activity=False, edits_skip_review=False, created_at=now, password_changed_at=now))
        left = [(1, now, "kept"), (1, then, "older than its account")]
        if connection.dialect.name == "sqlite":  # PostgreSQL enforced the cascade: it has no orphans
            left.append((9, now, "no account"))
        for user_id, made, name in left:
            connection.execute(token.insert().values(kind="personal", name=name, token_hash=name, prefix="peh_p_",
                                                     scope="read", user_id=user_id, created_at=made))
    with db.engine.connect() as connection:
        if connection.dialect.name == "sqlite":
            connection.exec_driver_sql("PRAGMA foreign_keys = ON")
    upgrade()
    with db.engine.connect() as connection:
        skeletons = dict(connection.execute(sa.text('SELECT username, pseudonym_skeleton FROM "user"')).all())
        tokens = set(connection.execute(sa.text("SELECT name FROM api_token")).scalars())
        schema = connection.execute(sa.text("SELECT sql FROM sqlite_master WHERE name = 'user'")).scalar() \
            if connection.dialect.name == "sqlite" else None
    assert skeletons == {"amei": skeleton("管理员阿梅"), "fake": None, "wind": skeleton("山风"), "wind2": None}
    assert tokens == {"kept"}
    if schema is not None:
        assert "AUTOINCREMENT" in schema
