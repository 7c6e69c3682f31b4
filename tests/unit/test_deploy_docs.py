"""The README's Deploying, Configuration and Monitoring sections stay true to the code and files."""
from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")
OPERATIONS_SETTINGS = ["DATABASE_CONNECT_TIMEOUT", "PROXIES", "LOG_FORMAT", "LOG_CLIENT_IP", "METRICS_TOKEN",
                       "READY_MAX_LAG"]


def section(title: str) -> str:
    """Return a top-level README section's text (up to the next "## " heading)."""
    start = README.index(f"\n## {title}\n")
    end = README.find("\n## ", start + 1)
    return README[start:end if end > 0 else None]


def test_every_operations_setting_is_in_the_configuration_table():
    from hub.config import Config

    table = section("Configuration")
    for name in OPERATIONS_SETTINGS:
        assert hasattr(Config, name)
        assert f"`HUB_{name}`" in table, name


def test_every_metric_the_hub_exports_is_documented():
    sources = (ROOT / "blueprints/ops/views.py").read_text() + (ROOT / "blueprints/web/observability.py").read_text()
    names = set(re.findall(r'"(hub_[a-z_]+)"', sources))
    assert len(names) >= 9
    monitoring = section("Monitoring")
    assert [name for name in sorted(names) if f"`{name}`" not in monitoring] == []


def test_the_deploying_steps_run_in_order_without_sudo():
    deploying = section("Deploying")
    commands = "\n".join(re.findall(r"```sh\n(.*?)```", deploying, re.S))
    assert "sudo" not in commands
    assert commands.index("createuser hub") < commands.index("createdb -O hub hub") < commands.index("flask hub init")
    assert commands.index("pip install .") < commands.index("flask hub init")
    assert commands.index("/etc/hub/hub.env <<") < commands.index("flask hub init")
    assert commands.index("flask hub init") < commands.index("create-admin") < commands.index("create-project") \
        < commands.index("hub invite --role moderator")


def test_every_shipped_file_the_steps_copy_exists_and_the_units_run_what_the_readme_says():
    deploying = section("Deploying")
    copied = re.findall(r"/srv/hub/src/(deploy/\S+)", deploying)
    assert len(copied) >= 5
    assert [name for name in copied if not (ROOT / name).is_file()] == []
    web = (ROOT / "deploy/systemd/hub-web.service").read_text()
    worker = (ROOT / "deploy/systemd/hub-worker.service").read_text()
    assert "ExecStart=/srv/hub/venv/bin/gunicorn -c python:hub.gunicorn_conf hub:create_app()" in web
    assert "ExecStart=/srv/hub/venv/bin/flask hub worker" in worker
    for unit in (web, worker):
        assert "EnvironmentFile=/etc/hub/hub.env" in unit and "User=hub" in unit
        assert "ReadWritePaths=/srv/hub/instance" in unit
    assert "gunicorn -c python:hub.gunicorn_conf 'hub:create_app()'" in deploying
