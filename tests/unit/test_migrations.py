"""The migrations build exactly the schema the models describe, on SQLite and PostgreSQL."""
from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade

from hub.extensions import db


def _empty(engine) -> None:
    db.drop_all()
    with engine.begin() as connection:
        connection.execute(sa.text("DROP TABLE IF EXISTS alembic_version"))


def test_upgrade_from_empty_matches_the_models(any_db_app):
    _empty(db.engine)
    upgrade()
    with db.engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection, opts={"compare_type": True}), db.metadata)
    assert diff == []


def test_upgrade_is_repeatable_and_downgrade_empties(any_db_app):
    _empty(db.engine)
    upgrade()
    upgrade()  # a second `flask hub init` changes nothing
    downgrade(revision="base")
    tables = set(sa.inspect(db.engine).get_table_names()) - {"alembic_version"}
    assert tables == set()
    upgrade()


def test_pseudonym_skeletons_are_backfilled_and_old_look_alikes_keep_working(any_db_app):
    from hub.text_safety import skeleton

    _empty(db.engine)
    upgrade(revision="0004")
    user = sa.table("user", *(sa.column(name) for name in (
        "username", "pseudonym", "password_hash", "role", "status", "bio", "created_at", "password_changed_at")))
    now = sa.func.current_timestamp()
    with db.engine.begin() as connection:
        for username, pseudonym in [("lily", "Lily"), ("fake", "LiIy"), ("lee", "小李")]:
            connection.execute(user.insert().values(username=username, pseudonym=pseudonym, password_hash="x",
                                                    role="member", status="active", bio="", created_at=now,
                                                    password_changed_at=now))
    upgrade()
    with db.engine.connect() as connection:
        rows = dict(connection.execute(sa.text('SELECT username, pseudonym_skeleton FROM "user"')).all())
    assert rows == {"lily": skeleton("Lily"), "fake": None, "lee": skeleton("小李")}
