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

from hub.i18n import catalogue_dir


# A production secret key's least length and number of different characters (see _derive).
MIN_SECRET_KEY_LENGTH, MIN_SECRET_KEY_CHARACTERS = 32, 5


class ConfigError(RuntimeError):
    """A setting is missing or wrong; the message says which and how to fix it."""


class Config:
    """Defaults for a small hub: SQLite and a Whoosh index under ``instance/``."""

    # "development" generates a secret key and keeps it in instance/; anything else is production.
    ENV = "production"
    SECRET_KEY: str | None = None
    DATABASE_URL = "sqlite:///hub.sqlite"  # relative SQLite paths live in instance/
    DATABASE_CONNECT_TIMEOUT = 5  # seconds to reach PostgreSQL before a request answers 503
    INDEX_DIR = "index"  # relative to instance/
    SEARCH_CACHE_MB = 128  # per web process: term arrays kept between searches (see search_index/engine.py)
    FRAGMENT_CACHE_MB = 32  # per web process: rendered parts of pages (see blueprints/web/fragments.py)
    DATABASE_BUSY_TIMEOUT = 15  # SQLite: seconds a write waits for another process's (hub/database.py)
    DATABASE_PING_AFTER_SECONDS = 30  # a pooled connection idle longer is pinged when taken (hub/database.py)
    BASE_URL = "http://127.0.0.1:5000"
    COOKIE_SECURE: bool | None = None  # None: secure when BASE_URL is https
    SITE_NAME = ""  # empty: the translated default name is shown
    # "invite": sign-up only through an invitation link; "open": anyone, as a member pending approval.
    REGISTRATION = "invite"
    DEFAULT_LOCALE = "en"
    LOCALES = ("zh_Hans", "en")  # add a language: its catalogue in translations/ and its code here
    TRANSLATIONS_DIR = ""  # empty: the package's compiled catalogues, else the translations/ folder beside hub/
    DEFAULT_TIMEZONE = "UTC"
    MAX_CONTENT_LENGTH = 12 * 1024 * 1024
    INVITATION_DAYS = 14
    RESET_TOKEN_MINUTES = 60
    EMAIL_CHANGE_HOURS = 24  # how long the link that confirms a new e-mail address works
    # Failed log-ins allowed per account and per client in LOGIN_WINDOW_SECONDS.
    LOGIN_LIMIT_ACCOUNT = 5
    LOGIN_LIMIT_CLIENT = 20
    LOGIN_WINDOW_SECONDS = 15 * 60
    SESSION_DAYS = 30
    WORKER_POLL_SECONDS = 1.0
    WORKER_HEARTBEAT_SECONDS = 5.0  # a worker whose heartbeat is 3 times older counts as not running
    WORKER_CLAIM_SECONDS = 60.0  # a claim on shared work (hub.claims) not renewed for this long comes free
    NODE_NAME = ""  # this machine's name among the hub's nodes; empty: host name and instance folder
    PASSWORD_HASH_METHOD = "scrypt"  # Werkzeug's scrypt, n=2**15
    # Mail (README, "Mail"). No server: no mail at all; reset links go to the server log, admins hand out links.
    MAIL_SERVER = ""
    MAIL_PORT = 587
    MAIL_USE_TLS = True  # STARTTLS after connecting (port 587)
    MAIL_USE_SSL = False  # TLS from the first byte (port 465); not together with MAIL_USE_TLS
    MAIL_USERNAME = ""
    MAIL_PASSWORD = ""
    MAIL_SENDER = ""  # the From address; empty: hub@ and the host of BASE_URL
    MAIL_TIMEOUT = 20.0  # seconds for connecting and for each SMTP command
    MAIL_TRIES = 8  # tries a mail the server refuses for a while (4xx) gets before it is given up
    MAIL_RETRY_BASE_SECONDS = 60.0  # waits 1, 2, 4 ... minutes between tries (at most 6 hours)
    MAIL_BATCH = 50  # mails sent per worker round
    MAIL_DIGEST_HOUR = 7  # daily and weekly digests go out after this hour, in each reader's time zone
    MAIL_DIGEST_WEEKDAY = 0  # weekly digests on this day: 0 Monday ... 6 Sunday
    MAIL_KEEP_DAYS = 30  # sent and given-up mails are forgotten after this many days
    TESTING = False
    PROXIES = 0  # proxies in front whose X-Forwarded-For/-Proto are believed: 1 behind nginx (deploy/)
    LOG_FORMAT = "text"  # or "json": one JSON object per line, with the request id
    LOG_CLIENT_IP = False  # the access log names no client address unless an operator opts in
    METRICS_TOKEN = ""  # empty: /metrics answers 404; else Prometheus sends it as a bearer token
    READY_MAX_LAG = 1000  # /readyz fails while this node's worker is more events behind the log
    WTF_CSRF_SSL_STRICT = False  # over https, blueprints/web/security.py checks Origin, else Referer
    WTF_CSRF_TIME_LIMIT = None  # a form opened on a slow phone must still submit hours later
    # Federation (ActivityPub). "allowlist": only allow-listed partner hubs may talk to this hub;
    # "open": any hub that is not blocked may follow it and send notes (they still go to moderation).
    FEDERATION_MODE = "allowlist"
    # In open mode, follows from hubs that are not allow-listed: "accept" at once or "hold" for an admin.
    FEDERATION_OPEN_FOLLOWS = "accept"
    FEDERATION_ALLOW_LOOPBACK = False  # only tests and single-machine trials reach 127.0.0.0/8
    FEDERATION_DELIVERY_TRIES = 10  # with the base below: retries over about 12 hours
    FEDERATION_RETRY_BASE_SECONDS = 90.0  # waits 90 s, 180 s, 360 s ... between tries
    FEDERATION_SEND_THREADS = 4  # inboxes contacted at once; a slow one never holds up the others
    FEDERATION_SEND_PER_INBOX = 20  # deliveries sent to one inbox in one go, in order
    FEDERATION_CONNECT_TIMEOUT = 5.0
    FEDERATION_TOTAL_TIMEOUT = 30.0
    FEDERATION_MAX_ACTIVITY_BYTES = 256 * 1024  # larger POSTs to the inbox are refused unread
    FEDERATION_MAX_FETCH_BYTES = 1_000_000
    FEDERATION_INBOX_BATCH = 50  # inbox items processed per worker round
    FEDERATION_BACKFILL_HOURS = 6.0  # a followed hub's outbox is re-read this often (and on demand)
    FEDERATION_BACKFILL_PAGES = 10
    # Machines reading the hub (API, feeds, OAI-PMH): requests per API token, and per client address
    # without one. "memory://" counts per process; several processes need a shared store (README).
    API_RATE_LIMIT = "600 per minute"
    API_RATE_LIMIT_ANONYMOUS = "120 per minute"
    RATELIMIT_STORAGE_URI = "memory://"
    # OAI-PMH (/oai): who harvesters write to (empty: admin@ the host of BASE_URL), what they may do
    # with the records (dc:rights), and records per answer before a resumptionToken.
    OAI_ADMIN_EMAIL = ""
    OAI_RIGHTS = "Rights remain with the project named as creator; ask it before reuse."
    OAI_PAGE_SIZE = 100


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
    FEDERATION_RETRY_BASE_SECONDS = 0.2
    MAIL_RETRY_BASE_SECONDS = 0.2
    MAIL_TIMEOUT = 5.0
    API_RATE_LIMIT_ANONYMOUS = "100000 per minute"  # tests of the limits set their own


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
    key = cfg["SECRET_KEY"]
    if cfg["ENV"] not in ("development", "testing") and (len(str(key)) < MIN_SECRET_KEY_LENGTH
                                                         or len(set(str(key))) < MIN_SECRET_KEY_CHARACTERS):
        # Sessions, CSRF tokens, unsubscribe links and the sealed tokens of queued mail are only as
        # safe as this key; "changeme" or "x" would let anyone sign them (Django's check: 50 and 5).
        raise ConfigError(
            f"HUB_SECRET_KEY is too weak: it needs at least {MIN_SECRET_KEY_LENGTH} characters, at least "
            f"{MIN_SECRET_KEY_CHARACTERS} of them different. Generate one with "
            "python -c 'import secrets; print(secrets.token_hex(32))'."
        )
    if cfg["LOG_FORMAT"] not in ("text", "json"):
        raise ConfigError(f"HUB_LOG_FORMAT must be 'text' or 'json', not {cfg['LOG_FORMAT']!r}.")
    if cfg.get("FEDERATION_MODE", "allowlist") not in ("allowlist", "open"):
        raise ConfigError(
            f"HUB_FEDERATION_MODE must be 'allowlist' or 'open', not {cfg['FEDERATION_MODE']!r}."
        )
    if cfg.get("MAIL_USE_TLS") and cfg.get("MAIL_USE_SSL"):
        raise ConfigError("HUB_MAIL_USE_TLS (STARTTLS, port 587) and HUB_MAIL_USE_SSL (TLS, port 465) exclude "
                          "each other: set one of them to false.")
    cfg.setdefault("SQLALCHEMY_DATABASE_URI", _database_uri(cfg["DATABASE_URL"]))
    cfg.setdefault("SQLALCHEMY_ENGINE_OPTIONS", _engine_options(cfg))
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
    cfg["BABEL_TRANSLATION_DIRECTORIES"] = str(cfg.get("TRANSLATIONS_DIR") or catalogue_dir())


def _database_uri(url: str) -> str:
    """Accept the short ``postgres://`` form and pick the psycopg 3 driver for PostgreSQL."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://"):]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    return url


def _engine_options(cfg: dict[str, Any]) -> dict[str, Any]:
    """Return the engine's options: check pooled connections, keep values out of error messages."""
    # hide_parameters: an error's message (and so the log) names the statement, never the values
    # bound to it, which may be note text. No pool_pre_ping: pooled connections are checked when
    # taken by hub/database.py, mostly without a round trip, so that after a database restart the
    # first request still gets a fresh connection instead of an error.
    options: dict[str, Any] = {"hide_parameters": True}
    if cfg["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        # An unreachable server (a dropped route, not a refused port) fails fast instead of
        # holding a web worker for the operating system's TCP timeout.
        options["connect_args"] = {"connect_timeout": int(cfg["DATABASE_CONNECT_TIMEOUT"])}
    return options


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
