"""Which database history this is, so that what is kept beside the database can tell it still belongs.

A node keeps state derived from the database outside it: its search index (with the id of the
last event it applied). After a restore, that state may come from a different history: the
restored log reuses event ids the index has already "applied", and its notes are not the
index's. The contract for anything that keeps such state:

- :func:`database_identity` is a random 128-bit value made once per database (by the migration
  that added it, or on first use). Two databases never share it. ``flask hub restore`` gives
  the restored database a new one, so state built before the restore, or from the copy the
  backup was made of, never matches.
- Store the identity with the derived state when building it (a full rebuild reads it first);
  when it differs at start, the state is from another database: rebuild it, never trust it.
- A restore made by hand (``pg_restore``, a copied SQLite file) keeps the identity of the dump.
  For that case also keep :func:`hub.events.fingerprint` of the event at your cursor: when the
  log has no such event (cursor past the head) or a different one there, rebuild.
"""
from __future__ import annotations

import secrets

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from hub.extensions import db
from hub.models.base import utcnow
from hub.models.meta import HubMeta

IDENTITY = "identity"


def identity_query() -> sa.ScalarSelect[str]:
    """Return the SQL scalar that reads this database's identity (NULL before :func:`database_identity` made one)."""
    return sa.select(HubMeta.value).where(HubMeta.key == IDENTITY).scalar_subquery()


def database_identity() -> str:
    """Return this database's identity, creating it on a database made without the migrations (commits then)."""
    found = db.session.scalar(sa.select(identity_query()))
    if found is None:
        dialect = db.session.get_bind().dialect.name
        insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(HubMeta)
        db.session.execute(insert.values(key=IDENTITY, value=secrets.token_hex(16), updated_at=utcnow())
                           .on_conflict_do_nothing(index_elements=[HubMeta.key]))
        db.session.commit()
        found = db.session.scalar(sa.select(identity_query()))
    return found


def new_identity(**facts: str) -> str:
    """Give the database a new identity (after a restore), recording ``facts`` beside it; the caller commits."""
    value = secrets.token_hex(16)
    for key, text in {IDENTITY: value, **facts}.items():
        row = db.session.get(HubMeta, key) or HubMeta(key=key)
        row.value = text[:300]
        db.session.add(row)
    return value
