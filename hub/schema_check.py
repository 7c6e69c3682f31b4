"""Whether the database's schema is the one this code was written for.

A hub started on an empty database, or on one an upgrade has not migrated yet, answers pages with
500s and its worker fails every round on a missing table or column. So the processes that serve
(gunicorn, the worker) look first and refuse to start with what to run, and ``/readyz`` says the
same: ``flask hub init`` creates the schema or brings it up to date.
"""
from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import current_app

from hub.extensions import db

FIX = "run `flask hub init` (it creates the schema or applies the migrations)"
# hub_meta's row naming the backup a restore is loading (hub.backup): there until the restore has finished.
UNFINISHED_RESTORE = "restore.unfinished"


@dataclass(frozen=True)
class SchemaState:
    """The schema revisions the database holds and the ones the code needs."""

    current: frozenset[str]
    needed: frozenset[str]
    known: frozenset[str]  # every revision the code's migrations know
    restore: str | None = None  # the backup a restore stopped midway was loading, if one was

    @property
    def ok(self) -> bool:
        return self.current == self.needed and not self.restore

    def problem(self) -> str | None:
        """Return what is wrong, for operators (English, like the other operational messages), or None."""
        if self.ok:
            return None
        if self.restore:
            return (f"a restore of the backup {self.restore} was stopped before it finished: run `flask hub restore` "
                    "with that file again (it starts over and finishes); until then nothing may use the database")
        if not self.current:
            return f"the database has no hub schema: {FIX}"
        if not self.current <= self.known:
            return (f"the database's schema ({', '.join(sorted(self.current))}) is newer than this version of the hub "
                    "knows: run the newer version, or restore a backup made by this one")
        return (f"the database's schema is at {', '.join(sorted(self.current))} and this hub needs "
                f"{', '.join(sorted(self.needed))}: {FIX}")


def scripts() -> ScriptDirectory:
    """Return the hub's migrations (``hub/migrations``) as Alembic reads them."""
    return ScriptDirectory.from_config(current_app.extensions["migrate"].migrate.get_config())


def schema_state() -> SchemaState:
    """Read the database's schema revision (raises SQLAlchemy's errors when it cannot be reached)."""
    migrations = scripts()
    needed = frozenset(migrations.get_heads())
    with db.engine.connect() as connection:
        current = frozenset(MigrationContext.configure(connection).get_current_heads())
        # A database made from the models directly (db.create_all: the tests, the benches) has every
        # table and no revision: it is the code's schema.
        if not current and set(db.metadata.tables) <= set(sa.inspect(connection).get_table_names()):
            current = needed
        restore = unfinished_restore(connection) if current else None
    return SchemaState(current=current, needed=needed, restore=restore,
                       known=frozenset(revision.revision for revision in migrations.walk_revisions()))


def unfinished_restore(connection: sa.Connection) -> str | None:
    """Return the backup (file and date) a restore stopped midway was loading into this database, or None."""
    if not sa.inspect(connection).has_table("hub_meta"):
        return None
    return connection.execute(sa.text("SELECT value FROM hub_meta WHERE key = :key"),
                              {"key": UNFINISHED_RESTORE}).scalar()


def require_current_schema() -> None:
    """Raise :class:`OutdatedSchema` if the database is not at the code's schema."""
    try:
        problem = schema_state().problem()
    except sa.exc.SQLAlchemyError as error:
        raise OutdatedSchema(f"cannot reach the database ({type(error).__name__})") from None
    if problem:
        raise OutdatedSchema(problem)


class OutdatedSchema(RuntimeError):
    """The database cannot be used by this version of the hub as it is."""
