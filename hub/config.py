"""Configuration: defaults for an embedded hub, overridable by ``HUB_*`` environment variables.

Every setting is read through ``app.config``; the environment is read once, in
:func:`load`, with ``app.config.from_prefixed_env("HUB")`` so that ``HUB_DATABASE_URL``,
``HUB_SECRET_KEY``, ``HUB_BASE_URL``, ``HUB_REGISTRATION`` and the rest override the
defaults below without code changes.
"""
from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

from flask import Flask


class ConfigError(RuntimeError):
    """A setting is missing or wrong; the message says which and how to fix it."""


class Config:
    """Defaults for a small hub: SQLite and a Whoosh index under ``instance/``."""

    # "development" generates a secret key and keeps it in instance/; anything else is production.
    ENV = "production"
    SECRET_KEY: str | None = None
    DATABASE_URL = "sqlite:///hub.sqlite"  # relative SQLite paths live in instance/
    INDEX_DIR = "index"  # relative to instance/
    BASE_URL = "http://127.0.0.1:5000"
    COOKIE_SECURE: bool | None = None  # None: secure when BASE_URL is https
    SITE_NAME = ""  # empty: the translated default name is shown
    # "invite": sign-up only through an invitation link; "open": anyone, as a member pending approval.
    REGISTRATION = "invite"
    DEFAULT_LOCALE = "en"
    LOCALES = ("zh_Hans", "en")
    DEFAULT_TIMEZONE = "UTC"
    MAX_CONTENT_LENGTH = 12 * 1024 * 1024
    INVITATION_DAYS = 14
    RESET_TOKEN_MINUTES = 60
    # Failed log-ins allowed per account and per client in LOGIN_WINDOW_SECONDS.
    LOGIN_LIMIT_ACCOUNT = 5
    LOGIN_LIMIT_CLIENT = 20
    LOGIN_WINDOW_SECONDS = 15 * 60
    SESSION_DAYS = 30
    WORKER_POLL_SECONDS = 1.0
    PASSWORD_HASH_METHOD = "scrypt"  # Werkzeug's scrypt, n=2**15
    MAIL_SERVER = ""  # no mail yet: reset links go to the server log and to admins
    TESTING = False
    WTF_CSRF_TIME_LIMIT = None  # a form opened on a slow phone must still submit hours later


class TestConfig(Config):
    """Settings for the test suite: in-memory SQLite and index, fixed secret."""

    ENV = "testing"
    TESTING = True
    SECRET_KEY = "test-secret-key-not-for-production"
    DATABASE_URL = "sqlite://"
    INDEX_DIR = ":memory:"
    BASE_URL = "http://hub.test"
    PASSWORD_HASH_METHOD = "scrypt:1024:8:1"  # same algorithm, cheap enough for hundreds of tests
    LOGIN_LIMIT_ACCOUNT = 5
    LOGIN_LIMIT_CLIENT = 20


def load(app: Flask, config: dict[str, Any] | type | None) -> None:
    """Fill ``app.config`` from defaults, the environment and the caller's overrides."""
    base = config if isinstance(config, type) else Config
    app.config.from_object(base)
    app.config.from_prefixed_env("HUB")
    if isinstance(config, dict):
        app.config.update(config)
    _derive(app)


def _derive(app: Flask) -> None:
    """Compute the settings that follow from others, failing early on bad values."""
    cfg = app.config
    if cfg["REGISTRATION"] not in ("invite", "open"):
        raise ConfigError(
            f"HUB_REGISTRATION must be 'invite' or 'open', not {cfg['REGISTRATION']!r}."
        )
    if not cfg.get("SECRET_KEY"):
        if cfg["ENV"] in ("development", "testing"):
            cfg["SECRET_KEY"] = _development_secret(Path(app.instance_path))
        else:
            raise ConfigError(
                "HUB_SECRET_KEY is not set. In production the hub needs a long random secret: "
                "export HUB_SECRET_KEY=$(python -c 'import secrets; print(secrets.token_hex(32))'), "
                "or set HUB_ENV=development on a machine used only for trying the hub."
            )
    cfg.setdefault("SQLALCHEMY_DATABASE_URI", _database_uri(cfg["DATABASE_URL"]))
    cfg.setdefault("SQLALCHEMY_ENGINE_OPTIONS", {"pool_pre_ping": True})
    secure = cfg["COOKIE_SECURE"]
    if secure is None:  # follow the base URL: a hub served over https sends cookies only over https
        secure = str(cfg["BASE_URL"]).startswith("https://")
    cfg["SESSION_COOKIE_SECURE"] = cfg["REMEMBER_COOKIE_SECURE"] = bool(secure)
    cfg["SESSION_COOKIE_HTTPONLY"] = True
    cfg["SESSION_COOKIE_SAMESITE"] = "Lax"
    cfg["REMEMBER_COOKIE_HTTPONLY"] = True
    cfg["REMEMBER_COOKIE_SAMESITE"] = "Lax"
    cfg["BABEL_DEFAULT_LOCALE"] = cfg["DEFAULT_LOCALE"]
    cfg["BABEL_DEFAULT_TIMEZONE"] = cfg["DEFAULT_TIMEZONE"]
    cfg["BABEL_TRANSLATION_DIRECTORIES"] = str(Path(app.root_path).parent / "translations")


def _database_uri(url: str) -> str:
    """Accept the short ``postgres://`` form and pick the psycopg 3 driver for PostgreSQL."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://"):]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    return url


def _development_secret(instance: Path) -> str:
    """Return the development secret kept in ``instance/``, creating it on first use."""
    path = instance / "secret_key"
    if path.exists():
        return path.read_text().strip()
    instance.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    path.write_text(key)
    path.chmod(0o600)
    return key
