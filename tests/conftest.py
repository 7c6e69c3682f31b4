"""Fixtures shared by every test: a fresh app and database per test, role fixtures, helpers."""
from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator

import jinja2
import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.routing import Rule

from hub import create_app, worker
from hub.config import TestConfig
from hub.extensions import db
from hub.models.user import Role, User, UserStatus
from hub.services import accounts, projects

from tests import catalogue, spawn
from tests.helpers import PASSWORD, login


def pytest_configure(config) -> None:
    """Start the reaper that ends, with this pytest process, every process the suite starts (tests/spawn.py)."""
    spawn.start_reaper()


@pytest.fixture(scope="session", autouse=True)
def compiled_catalogues() -> None:
    """Compile the catalogues once, so the suite reads the same .mo files the hub serves."""
    from hub.i18n import compile_catalogues

    compile_catalogues()


class SharedTemplateCache(jinja2.BytecodeCache):
    """Keep compiled templates across the many fresh apps of the suite.

    Every test builds a new app, and a new app compiles every template again; that compiling,
    not the hub, would take much of the suite's time. Entries are keyed by template name and
    checked against the source's checksum, so an edited template is compiled afresh.
    """

    def __init__(self) -> None:
        self.store: dict[str, bytes] = {}

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        """Fill the bucket from the store when this template was compiled before."""
        if bucket.key in self.store:
            bucket.bytecode_from_string(self.store[bucket.key])

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        """Remember a freshly compiled template."""
        self.store[bucket.key] = bucket.bytecode_to_string()


TEMPLATES = SharedTemplateCache()


_URL_BUILDERS: dict[tuple, Callable] = {}
_compile_url_builder = Rule._compile_builder


def _shared_url_builder(rule: Rule, append_unknown: bool = True) -> Callable:
    """Return the URL builder of ``rule``, compiled once for all the suite's apps.

    Binding a rule to an app's URL map generates and compiles two small Python functions per rule
    (Werkzeug's ``Rule._compile_builder``): with the hub's ~135 rules that was more than half of
    building an app, which nearly every test does, often several times. A builder is a plain
    function of the rule's parts that reaches the rule's own converters through its first argument
    when called, so one compiled for the same rule text, parts, defaults and converters builds the
    same URLs for any app; each rule still binds it as its own method. The URL map itself
    (matching, converters, rule order) is built afresh for every app as before.
    """
    defaults = tuple(sorted((k, repr(v)) for k, v in (rule.defaults or {}).items()))
    converters = tuple(sorted((k, type(c).__qualname__, repr({a: v for a, v in vars(c).items() if a != "map"}))
                              for k, c in rule._converters.items()))
    key = (rule.rule, rule.subdomain, rule.host, tuple(rule._trace), defaults, converters, append_unknown)
    if key not in _URL_BUILDERS:
        _URL_BUILDERS[key] = _compile_url_builder(rule, append_unknown)
    return _URL_BUILDERS[key]


Rule._compile_builder = _shared_url_builder


class FreshContextClient(FlaskClient):
    """A test client whose every request gets its own app context, as in production.

    Without this, requests would share the test's app context, hence ``g`` (where Flask-Login
    caches the user) and the database session, hiding bugs that real requests would show.
    """

    def open(self, *args, **kwargs):
        with self.application.app_context():
            return super().open(*args, **kwargs)


@pytest.fixture
def make_app(tmp_path) -> Callable[..., Flask]:
    """Return a factory of fresh apps with an empty schema; settings may be overridden."""
    def factory(**overrides) -> Flask:
        overrides.setdefault("DATABASE_URL", "sqlite://")
        app = create_app(_test_config(tmp_path, overrides))
        app.test_client_class = FreshContextClient
        app.jinja_env.bytecode_cache = TEMPLATES
        with app.app_context():
            create_schema()
        return app
    return factory


_EMPTY_SCHEMA: list[sqlite3.Connection] = []


def create_schema() -> None:
    """Create the empty schema in the app's database, as ``db.create_all()`` does.

    An in-memory SQLite database (most tests') gets a page-by-page copy of the one this process
    made with ``create_all`` for its first test (SQLite's backup API): compiling and running the
    ~90 DDL statements was most of what building an app still cost. Any other database gets
    ``create_all`` itself.
    """
    engine = db.engine
    if engine.dialect.name != "sqlite" or engine.url.database not in (None, "", ":memory:"):
        db.create_all()
        return
    connection = engine.raw_connection()  # in memory: the engine's one connection (a static pool)
    try:
        if not _EMPTY_SCHEMA:
            db.create_all()
            _EMPTY_SCHEMA.append(sqlite3.connect(":memory:", check_same_thread=False))
            connection.driver_connection.backup(_EMPTY_SCHEMA[0])
        else:
            _EMPTY_SCHEMA[0].backup(connection.driver_connection)
    finally:
        connection.close()


def _test_config(tmp_path, overrides: dict) -> dict:
    config = {k: getattr(TestConfig, k) for k in dir(TestConfig) if k.isupper()}
    config["INSTANCE_PATH"] = str(tmp_path / "instance")
    config.update(overrides)
    from hub.config import _database_uri
    config["SQLALCHEMY_DATABASE_URI"] = _database_uri(config["DATABASE_URL"])
    return config


@pytest.fixture
def app(make_app) -> Iterator[Flask]:
    """Give each test a fresh hub with an in-memory database, inside an app context."""
    application = make_app()
    with application.app_context():
        yield application
        db.session.remove()


@pytest.fixture(scope="session")
def postgres_server():
    """Start one throwaway PostgreSQL server for the session (failing, never skipping, without it)."""
    from tests.pg import start_server

    server = start_server()
    yield server
    server.stop()


@pytest.fixture
def postgres_database(postgres_server, request) -> Iterator[str]:
    """Give the test a database of its own on the session's PostgreSQL server; return its URL.

    For tests whose processes (workers, writers) connect by URL and must not meet other tests' rows.
    """
    name = "t_" + "".join(c if c.isalnum() else "_" for c in request.node.name.lower())[:50]
    yield postgres_server.create_database(name)
    postgres_server.drop_database(name)


def _app_on(make_app: Callable[..., Flask], url: str) -> Iterator[Flask]:
    """Yield a fresh hub on the database at ``url``, inside its app context, and let its connections go after."""
    application = make_app(DATABASE_URL=url)
    with application.app_context():
        yield application
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def postgres_app(make_app, postgres_database) -> Iterator[Flask]:
    """Give the test a fresh hub on a database of its own on the session's PostgreSQL server."""
    yield from _app_on(make_app, postgres_database)


@pytest.fixture(params=["sqlite", "postgresql"])
def shared_database_url(request, tmp_path) -> str:
    """Return the URL of an empty database that several connections, threads and processes share:
    a SQLite file (not an in-memory one), or a database of its own on the session's PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'hub.sqlite'}"
    return request.getfixturevalue("postgres_database")


@pytest.fixture
def shared_app(make_app, shared_database_url) -> Iterator[Flask]:
    """Give the test a fresh hub on that shared database, once on SQLite and once on PostgreSQL."""
    yield from _app_on(make_app, shared_database_url)


@pytest.fixture(params=["sqlite", "postgresql"])
def any_db_app(request, make_app) -> Iterator[Flask]:
    """Run the test once on SQLite and once on a real PostgreSQL server, each with a fresh schema."""
    if request.param == "sqlite":
        application = make_app()
    else:
        server = request.getfixturevalue("postgres_server")
        application = make_app(DATABASE_URL=server.url)
        with application.app_context():
            db.drop_all()
            db.create_all()
    with application.app_context():
        yield application
        db.session.remove()
        if request.param == "postgresql":
            db.drop_all()
        db.engine.dispose()


@pytest.fixture
def smtp_server():
    """Run a real SMTP server (aiosmtpd) on a free local port for one test; see tests/smtp.py."""
    from tests.smtp import MailServer

    server = MailServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def mail_app(make_app, smtp_server) -> Iterator[Flask]:
    """Give the test a fresh hub that sends its mail to the test's SMTP server, inside an app context."""
    application = make_app(**smtp_server.config())
    with application.app_context():
        yield application
        db.session.remove()


@pytest.fixture
def hub(app):
    """The small hub of ``tests/catalogue.py``, indexed as the worker indexes it (search finds its notes)."""
    made = catalogue.build()
    worker.run_once(app)
    return made


@pytest.fixture
def client(app) -> FlaskClient:
    """Return a test client of the fresh app."""
    return app.test_client()


@pytest.fixture
def runner(app):
    """Return a CLI runner of the fresh app."""
    return app.test_cli_runner()


@pytest.fixture
def project(app):
    """Create the project most tests put people in."""
    return projects.save(projects.ProjectData(
        slug="chengdu-peer-centre", name_zh="成都同伴支持服务中心", name_en="Chengdu Peer Support Centre",
        city="成都", province="四川", country="CN"), by=None)


@pytest.fixture
def make_user(app) -> Callable[..., User]:
    """Return a factory of users: make_user("fred", role=Role.MEMBER)."""
    def factory(username: str, *, role: Role = Role.MEMBER, status: UserStatus = UserStatus.ACTIVE,
                pseudonym: str | None = None, email: str | None = None, project=None,
                locale: str | None = None) -> User:
        user = accounts.create_user(
            accounts.NewAccount(username=username, pseudonym=pseudonym or f"{username.title()} P",
                                password=PASSWORD, email=email or f"{username}@example.org", locale=locale),
            role=role, status=status, project=project)
        db.session.commit()
        return user
    return factory


@pytest.fixture
def member(make_user, project):
    """An ordinary member of the project."""
    return make_user("mary", project=project)


@pytest.fixture
def contributor(make_user, project):
    """A peer educator who writes notes."""
    return make_user("lee", role=Role.CONTRIBUTOR, pseudonym="小李", project=project)


@pytest.fixture
def moderator(make_user, project):
    """A moderator."""
    return make_user("moder", role=Role.MODERATOR, pseudonym="山风", project=project)


@pytest.fixture
def admin(make_user, project):
    """An administrator."""
    return make_user("ada", role=Role.ADMIN, project=project)


@pytest.fixture
def fred(make_user):
    """Fred the troll: a member who tries what he should not."""
    return make_user("fred", pseudonym="Fred T")


@pytest.fixture
def login_as(client) -> Callable[[User], FlaskClient]:
    """Return a function that signs a user in on the test client."""
    def sign_in(user: User) -> FlaskClient:
        response = login(client, user.username)
        assert response.status_code == 302, response.get_data(as_text=True)
        return client
    return sign_in
