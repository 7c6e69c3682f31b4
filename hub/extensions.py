"""Flask extensions, created unbound and bound to an app in :func:`hub.create_app`."""
from __future__ import annotations

import sqlalchemy as sa
from flask_babel import Babel
from flask_babel import speaklater
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from markupsafe import escape
from sqlalchemy.orm import DeclarativeBase

# Named constraints let Alembic alter tables the same way on SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base of every model, with the shared naming convention."""

    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
login_manager = LoginManager()
babel = Babel()
csrf = CSRFProtect()


# Flask-Babel 4.0's lazy strings call themselves HTML (``LazyString.__html__`` returns the text as it
# is), so Jinja printed a lazily translated message unescaped, placeholders and all: a field error or
# a partner hub's problem with "<" in it. Our messages hold no markup: escape them like any string.
speaklater.LazyString.__html__ = lambda self: escape(str(self))
