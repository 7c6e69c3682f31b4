"""Configuration: defaults, HUB_* overrides, and the secret key rule."""
from __future__ import annotations

import pytest

from hub import create_app
from hub.config import ConfigError


def test_defaults_are_an_embedded_sqlite_database_under_instance(tmp_path, monkeypatch):
    monkeypatch.setenv("HUB_ENV", "development")
    app = create_app({"INSTANCE_PATH": str(tmp_path)})
    assert app.config["SQLALCHEMY_DATABASE_URI"] == "sqlite:///hub.sqlite"
    assert app.config["REGISTRATION"] == "invite"
    with app.app_context():
        from hub.extensions import db
        assert str(db.engine.url.database).startswith(str(tmp_path))


def test_environment_overrides_settings(tmp_path, monkeypatch):
    monkeypatch.setenv("HUB_ENV", "development")
    monkeypatch.setenv("HUB_DATABASE_URL", "postgres://hub@db.example/hub")
    monkeypatch.setenv("HUB_REGISTRATION", "open")
    monkeypatch.setenv("HUB_BASE_URL", "https://hub.example.org")
    monkeypatch.setenv("HUB_LOGIN_LIMIT_ACCOUNT", "3")
    app = create_app({"INSTANCE_PATH": str(tmp_path)})
    assert app.config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://hub@db.example/hub"
    assert app.config["REGISTRATION"] == "open"
    assert app.config["LOGIN_LIMIT_ACCOUNT"] == 3
    assert app.config["SESSION_COOKIE_SECURE"] is True  # https base URL: secure cookies


def test_production_without_secret_key_fails_with_a_clear_message(tmp_path, monkeypatch):
    monkeypatch.delenv("HUB_ENV", raising=False)
    monkeypatch.delenv("HUB_SECRET_KEY", raising=False)
    with pytest.raises(ConfigError, match="HUB_SECRET_KEY is not set"):
        create_app({"INSTANCE_PATH": str(tmp_path)})


@pytest.mark.parametrize("key", ["x", "changeme", "x" * 64, "abcd" * 16, "0123456789abcdef0123456789abcde"])
def test_production_refuses_a_weak_secret_key(tmp_path, monkeypatch, key):
    monkeypatch.delenv("HUB_ENV", raising=False)
    monkeypatch.setenv("HUB_SECRET_KEY", key)
    with pytest.raises(ConfigError, match="HUB_SECRET_KEY is too weak: it needs at least 32 characters"):
        create_app({"INSTANCE_PATH": str(tmp_path)})


def test_production_takes_a_generated_secret_key(tmp_path, monkeypatch):
    import secrets

    monkeypatch.delenv("HUB_ENV", raising=False)
    monkeypatch.setenv("HUB_SECRET_KEY", secrets.token_hex(32))
    assert create_app({"INSTANCE_PATH": str(tmp_path)}).config["ENV"] == "production"


def test_development_generates_and_keeps_a_secret(tmp_path, monkeypatch):
    monkeypatch.setenv("HUB_ENV", "development")
    monkeypatch.delenv("HUB_SECRET_KEY", raising=False)
    first = create_app({"INSTANCE_PATH": str(tmp_path)}).config["SECRET_KEY"]
    second = create_app({"INSTANCE_PATH": str(tmp_path)}).config["SECRET_KEY"]
    assert first == second and len(first) >= 32
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


def test_bad_registration_mode_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("HUB_ENV", "development")
    monkeypatch.setenv("HUB_REGISTRATION", "everyone")
    with pytest.raises(ConfigError, match="HUB_REGISTRATION"):
        create_app({"INSTANCE_PATH": str(tmp_path)})


def test_cookies_are_http_only_and_same_site(app):
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True
    assert app.config["SESSION_COOKIE_SAMESITE"] == "Lax"
