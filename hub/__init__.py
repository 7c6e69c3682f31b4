"""Practice Exchange Hub: the application factory."""
from __future__ import annotations

import os
from typing import Any

from flask import Flask
from werkzeug.routing import IntegerConverter

from hub import config as hub_config
from hub.extensions import babel, csrf, db, login_manager, migrate
from hub.models.base import LARGEST_ID

MIGRATIONS_DIR = __path__[0] + "/migrations"


def create_app(config: dict[str, Any] | type | None = None) -> Flask:
    """Build a hub: configuration, extensions, the web side, commands."""
    app = Flask(__name__, instance_relative_config=True, instance_path=_instance_path(config))
    hub_config.load(app, config)
    register_extensions(app)
    register_converters(app)
    register_web(app)
    register_cli(app)
    register_logging(app)
    register_proxies(app)
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
    from hub import content_version, database, federation, mail, models  # noqa: F401  (tables; listeners)
    from hub.services import harvest

    db.init_app(app)
    database.init_app(app)
    migrate.init_app(app, db, directory=MIGRATIONS_DIR, render_as_batch=True)
    csrf.init_app(app)
    babel.init_app(app)  # the hub's default locale and time zone; the web side chooses per request
    login_manager.init_app(app)
    app.json.ensure_ascii = False
    search_index.init_app(app)
    federation.init_app(app)
    harvest.init_app(app)
    mail.init_app(app)


def register_logging(app: Flask) -> None:
    """Log the hub's own INFO lines in production, as plain lines or JSON (``HUB_LOG_FORMAT``)."""
    from hub import logs

    logs.configure(app)


def register_proxies(app: Flask) -> None:
    """Believe X-Forwarded-For and -Proto from the proxies in front (``HUB_PROXIES``: nginx alone is 1).

    Without it, behind nginx every request comes from 127.0.0.1: log-in throttling per client
    would throttle everyone together, and the hub would not know the request came over https.
    """
    count = int(app.config["PROXIES"])
    if count:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count, x_proto=count)


class IdConverter(IntegerConverter):
    """``<int:…>`` in every route: ids as the hub writes them, numbers a database id can hold.

    /notes/2147483648 is a 404, not a crash; so are /notes/01 and /notes/１ (Werkzeug's ``\\d+``
    takes any Unicode digit, and ``int`` reads "01" and "１" as 1): a note has one address.
    """

    regex = r"[1-9][0-9]*"

    def __init__(self, url_map, *args, **kwargs) -> None:
        kwargs.setdefault("max", LARGEST_ID)
        super().__init__(url_map, *args, **kwargs)


def register_converters(app: Flask) -> None:
    """Bound the integers routes accept (before any route is added)."""
    app.url_map.converters["int"] = IdConverter


def register_web(app: Flask) -> None:
    """Add the web side: request hooks, template helpers, every page, error pages."""
    import blueprints

    blueprints.init_app(app)


def register_cli(app: Flask) -> None:
    """Add the ``flask hub ...`` commands."""
    from hub.cli import hub_cli, translate_cli
    import hub.cli_accounts  # noqa: F401
    import hub.cli_mail  # noqa: F401
    import hub.cli_notes  # noqa: F401
    import hub.cli_setup  # noqa: F401

    app.cli.add_command(hub_cli)
    app.cli.add_command(translate_cli)
