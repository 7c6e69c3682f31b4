"""Practice Exchange Hub: the application factory."""
from __future__ import annotations

import logging
import os
from typing import Any

from flask import Flask, session
from werkzeug.routing import IntegerConverter

from hub import config as hub_config
from hub.extensions import babel, csrf, db, login_manager, migrate

MIGRATIONS_DIR = __path__[0] + "/migrations"


def create_app(config: dict[str, Any] | type | None = None) -> Flask:
    """Build a hub: configuration, extensions, pages, commands, error handlers."""
    app = Flask(__name__, instance_relative_config=True, instance_path=_instance_path(config))
    hub_config.load(app, config)
    register_extensions(app)
    register_hooks(app)
    register_converters(app)
    register_blueprints(app)
    register_errorhandlers(app)
    register_cli(app)
    return app


def _instance_path(config: dict[str, Any] | type | None) -> str | None:
    """Return where runtime data lives: INSTANCE_PATH, else $HUB_INSTANCE_PATH, else ./instance."""
    if isinstance(config, dict) and config.get("INSTANCE_PATH"):
        return os.path.abspath(config["INSTANCE_PATH"])
    if os.environ.get("HUB_INSTANCE_PATH"):
        return os.path.abspath(os.environ["HUB_INSTANCE_PATH"])
    return None


def register_extensions(app: Flask) -> None:
    """Bind the unbound extensions to ``app``."""
    import search_index
    from hub import federation, i18n, models, permissions  # noqa: F401  (models registers the tables)

    # Access is decided before anything else looks at the request (CSRF included).
    app.before_request(permissions.guard)
    db.init_app(app)
    migrate.init_app(app, db, directory=MIGRATIONS_DIR, render_as_batch=True)
    csrf.init_app(app)
    babel.init_app(app, locale_selector=i18n.select_locale, timezone_selector=i18n.select_timezone)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.request_loader(_load_session_user)
    app.json.ensure_ascii = False
    search_index.init_app(app)
    federation.init_app(app)


def _load_session_user(_request):
    """Load the user of the log-in session named in the signed cookie."""
    from hub.services import accounts

    return accounts.session_user(session.get("sid", ""))


def register_hooks(app: Flask) -> None:
    """Add the per-request hooks: headers, language cookie, template helpers."""
    from hub import i18n, security, templating

    security.init_app(app)
    i18n.init_app(app)
    templating.init_app(app)
    if not app.debug and not app.testing:
        app.logger.setLevel(logging.INFO)


class IdConverter(IntegerConverter):
    """``<int:…>`` in every route: numbers a database id can hold, so /notes/10**20 is a 404, not a crash."""

    def __init__(self, url_map, *args, **kwargs) -> None:
        kwargs.setdefault("max", 2**63 - 1)
        super().__init__(url_map, *args, **kwargs)


def register_converters(app: Flask) -> None:
    """Bound the integers routes accept (before any route is added)."""
    app.url_map.converters["int"] = IdConverter


def register_blueprints(app: Flask) -> None:
    """Mount every HTTP face of the hub, and the template helpers that live beside them."""
    from blueprints import dates, languages
    from blueprints.admin import bp as admin_bp
    from blueprints.api import bp as api_bp
    from blueprints.assets import bp as assets_bp
    from blueprints.auth import bp as auth_bp
    from blueprints.federation import bp as federation_bp
    from blueprints.main import bp as main_bp
    from blueprints.moderation import bp as moderation_bp
    from blueprints.notes import bp as notes_bp
    from blueprints.partners import bp as partners_bp
    from blueprints.search import bp as search_bp
    from blueprints.translations import bp as translations_bp

    app.register_blueprint(assets_bp)
    app.register_blueprint(main_bp)
    app.register_blueprint(auth_bp)
    app.register_blueprint(notes_bp)
    app.register_blueprint(moderation_bp)
    app.register_blueprint(search_bp)
    app.register_blueprint(translations_bp)
    app.register_blueprint(api_bp)
    app.register_blueprint(admin_bp, url_prefix="/admin")
    app.register_blueprint(federation_bp)
    app.register_blueprint(partners_bp, url_prefix="/admin/partners")
    dates.init_app(app)  # the templates' date and datetime filters
    languages.init_app(app)  # language_label() for the templates


def register_errorhandlers(app: Flask) -> None:
    """Answer errors with friendly pages in the reader's language."""
    from hub import errors

    errors.init_app(app)


def register_cli(app: Flask) -> None:
    """Add the ``flask hub ...`` commands."""
    from hub.cli import hub_cli, translate_cli
    import hub.cli_accounts  # noqa: F401
    import hub.cli_notes  # noqa: F401

    app.cli.add_command(hub_cli)
    app.cli.add_command(translate_cli)
