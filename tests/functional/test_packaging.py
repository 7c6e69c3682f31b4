"""``pip install .`` gives a hub that works outside the checkout: its templates, migrations and
compiled catalogues are inside the package, and ``hub:create_app()`` is its entry point.

The wheel is built from a copy of the checkout's files (what ``git clone`` would give: no
compiled ``.mo`` files, no ``instance/``) and installed without dependencies into a fresh
virtualenv, which borrows the third-party libraries from the suite's own (a path entry, so the
suite's editable install of the hub is not seen). Nothing of the checkout is on ``sys.path``.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import pytest

from tests import spawn

ROOT = Path(__file__).resolve().parents[2]

PAGE = """
import sys
import hub
from hub import create_app
from hub.extensions import db

assert "site-packages" in hub.__file__, hub.__file__
app = create_app()
with app.app_context():
    db.create_all()
page = app.test_client().get("/", headers={"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.8"})
sys.stdout.write(str(page.status_code) + "\\n" + page.get_data(as_text=True))
"""


def checkout_files(target: Path) -> None:
    """Copy the files ``git clone`` would give (tracked, and new ones not ignored) to ``target``."""
    listed = spawn.run(["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"], cwd=ROOT,
                       capture_output=True, check=True).stdout.decode().split("\0")
    for name in filter(None, listed):
        source = ROOT / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """Build the wheel from a clean copy and install it into a fresh virtualenv; return its python."""
    root = tmp_path_factory.mktemp("packaging")
    source, wheels, env_dir = root / "source", root / "wheels", root / "venv"
    checkout_files(source)
    assert not list(source.rglob("*.mo"))  # a clone has no compiled catalogues
    spawn.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
               "-w", str(wheels), str(source)], check=True, cwd=root)
    venv.create(env_dir, with_pip=False)
    python = env_dir / "bin" / "python"
    site = spawn.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                     capture_output=True, text=True, check=True).stdout.strip()
    borrowed = spawn.run([sys.executable, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                         capture_output=True, text=True, check=True).stdout.strip()
    (Path(site) / "borrowed-libraries.pth").write_text(borrowed + "\n")
    wheel = next(wheels.glob("practice_exchange_hub-*.whl"))
    spawn.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet", "--no-deps",
               str(wheel)], check=True, cwd=root)
    return python


def run_installed(python: Path, code: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {"PATH": "/usr/bin:/bin", "HUB_ENV": "development", "HUB_INSTANCE_PATH": str(cwd / "instance")}
    return spawn.run([python, "-c", code], cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


def test_the_wheel_carries_compiled_catalogues_and_serves_chinese(installed, tmp_path):
    done = run_installed(installed, PAGE, tmp_path)
    assert done.returncode == 0, done.stderr
    status, html = done.stdout.split("\n", 1)
    assert status == "200"
    assert '<html lang="zh-Hans">' in html and "首页" in html  # the menu, from the packaged catalogue


def test_the_installed_package_upgrades_its_schema_and_holds_its_deployment_settings(installed, tmp_path):
    env = {"PATH": f"{installed.parent}:/usr/bin:/bin", "HUB_ENV": "development", "FLASK_APP": "hub",
           "HUB_INSTANCE_PATH": str(tmp_path / "instance")}
    done = spawn.run([installed, "-m", "flask", "hub", "init"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "Database is up to date" in done.stdout, done.stderr
    settings = spawn.run([installed, "-c", "import hub.gunicorn_conf as c; print(c.worker_class, c.threads)"],
                         cwd=tmp_path, env=env, capture_output=True, text=True)
    assert settings.stdout.split() == ["gthread", "4"], settings.stderr
    assert os.path.exists(tmp_path / "instance" / "hub.sqlite")
