"""The web side of the hub: every HTTP face, and what needs a request to work.

:func:`init_app` is the one entry the app factory uses. It adds the request-time pieces of
``blueprints.web`` (the access guard, the log-in session loader, security headers, the reader's
language, template helpers, error pages) and mounts the faces: assets, main, auth, notes,
moderation, search, translations, api, admin, partners, federation, tokens, feeds, oai, overview,
ops, follows, mail. The core (``hub``, ``search_index``) never imports this package; only
``hub.create_app`` does.
"""
from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Add the web side to ``app``: request hooks, template helpers, pages, error pages."""
    from blueprints.web import access, errors, fragments, locale, observability, security, session, templating

    access.init_app(app)
    session.init_app(app)
    security.init_app(app)
    locale.init_app(app)
    templating.init_app(app)
    fragments.init_app(app)
    _register_blueprints(app)
    errors.init_app(app)
    observability.init_app(app)  # last: its hooks go first and last around every other


def _register_blueprints(app: Flask) -> None:
    """Mount every HTTP face of the hub."""
    from blueprints.admin import bp as admin_bp
    from blueprints.api import bp as api_bp
    from blueprints.assets import bp as assets_bp
    from blueprints.auth import bp as auth_bp
    from blueprints.federation import bp as federation_bp
    from blueprints.feeds import bp as feeds_bp
    from blueprints.follows import bp as follows_bp
    from blueprints.mail import bp as mail_bp
    from blueprints.main import bp as main_bp
    from blueprints.moderation import bp as moderation_bp
    from blueprints.notes import bp as notes_bp
    from blueprints.oai import bp as oai_bp
    from blueprints.overview import bp as overview_bp
    from blueprints.ops import bp as ops_bp
    from blueprints.partners import bp as partners_bp
    from blueprints.search import bp as search_bp
    from blueprints.tokens import bp as tokens_bp
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
    app.register_blueprint(follows_bp)
    app.register_blueprint(mail_bp)
    app.register_blueprint(tokens_bp)
    app.register_blueprint(feeds_bp)
    app.register_blueprint(oai_bp)
    app.register_blueprint(overview_bp)
    app.register_blueprint(ops_bp)
