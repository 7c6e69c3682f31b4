"""The production stack on loopback, started as the README's Deploying section starts it:
``flask hub init``, then gunicorn with the hub's settings (``-c python:hub.gunicorn_conf``,
``'hub:create_app()'``), and nginx in front with the shipped proxy settings."""
from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import requests

from tests import spawn
from tests.processes import free_port

ROOT = Path(__file__).resolve().parents[1]
NGINX_SETTINGS = ROOT / "deploy" / "nginx" / "hub-proxy.conf"


def production_env(instance: Path, database_url: str, **settings: str) -> dict[str, str]:
    """Return the environment of a production hub (a secret key, PostgreSQL, an instance folder)."""
    instance.mkdir(parents=True, exist_ok=True)
    env = {"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin", "FLASK_APP": "hub", "PYTHONUNBUFFERED": "1",
           "HUB_SECRET_KEY": "a-test-secret-of-sufficient-length-0123456789", "HUB_DATABASE_URL": database_url,
           "HUB_INSTANCE_PATH": str(instance), "HUB_BASE_URL": "http://127.0.0.1"}
    env.update(settings)
    return env


def flask(env: dict[str, str], *args: str) -> str:
    """Run ``flask <args>`` as an operator would and return its output (failing loudly)."""
    done = spawn.run([sys.executable, "-m", "flask", *args], env=env, capture_output=True, text=True,
                     timeout=120)
    assert done.returncode == 0, f"flask {' '.join(args)}:\n{done.stdout}\n{done.stderr}"
    return done.stdout


@dataclass
class Server:
    """A process serving HTTP on a loopback port, with its output in a file."""

    process: subprocess.Popen
    port: int
    log: Path

    @property
    def url(self) -> str:
        """Return the server's base URL."""
        return f"http://127.0.0.1:{self.port}"

    def output(self) -> str:
        """Return what the process wrote so far."""
        return self.log.read_text(errors="replace")

    def stop(self) -> None:
        """Stop the process (SIGTERM, then SIGKILL) and wait for it."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def _wait_for(server: Server, path: str = "/healthz", seconds: float = 60) -> Server:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise AssertionError(f"server ended early:\n{server.output()}")
        try:
            if requests.get(server.url + path, timeout=2).status_code == 200:
                return server
        except requests.RequestException:
            pass
        time.sleep(0.2)
    server.stop()
    raise AssertionError(f"server never answered {path}:\n{server.output()}")


def start_gunicorn(env: dict[str, str], log: Path, *, workers: int = 3, port: int | None = None,
                   extra: tuple[str, ...] = ()) -> Server:
    """Start gunicorn as documented (the hub's settings file, the installed package's factory)."""
    port = port or free_port()
    command = [sys.executable, "-m", "gunicorn", "-c", "python:hub.gunicorn_conf", "-b", f"127.0.0.1:{port}",
               "-w", str(workers), *extra, "hub:create_app()"]
    handle = log.open("w")
    process = spawn.popen(command, env=env, stdout=handle, stderr=subprocess.STDOUT, cwd=log.parent)
    return _wait_for(Server(process=process, port=port, log=log))


def nginx_binary() -> str:
    """Return the nginx binary, failing with the package to install when it is missing."""
    found = shutil.which("nginx") or ("/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else None)
    if not found:
        raise AssertionError("nginx not found: install the Debian package 'nginx' (make test does this as root)")
    return found


def start_nginx(directory: Path, upstream_port: int) -> Server:
    """Start nginx on a loopback port in front of ``upstream_port``, with the shipped proxy settings."""
    directory.mkdir(parents=True, exist_ok=True)
    os.chmod(directory, 0o755)
    port = free_port()
    settings = NGINX_SETTINGS.read_text()
    # The shipped upstream is gunicorn's documented address; here gunicorn listens elsewhere.
    settings = re.sub(r"server 127\.0\.0\.1:8000\b", f"server 127.0.0.1:{upstream_port}", settings)
    (directory / "hub-proxy.conf").write_text(settings)
    user = "user root;" if os.geteuid() == 0 else ""
    (directory / "nginx.conf").write_text(f"""
{user}
worker_processes 1;
daemon off;
pid {directory}/nginx.pid;
error_log {directory}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {directory}/body;
    proxy_temp_path {directory}/proxy;
    fastcgi_temp_path {directory}/fastcgi;
    uwsgi_temp_path {directory}/uwsgi;
    scgi_temp_path {directory}/scgi;
    include {directory}/hub-proxy.conf;
    server {{
        listen 127.0.0.1:{port};
        server_name _;
        include {directory}/hub-locations.conf;
    }}
}}
""")
    (directory / "hub-locations.conf").write_text((NGINX_SETTINGS.parent / "hub-locations.conf").read_text())
    log = directory / "nginx.out"
    handle = log.open("w")
    process = spawn.popen([nginx_binary(), "-p", str(directory), "-c", str(directory / "nginx.conf")],
                          stdout=handle, stderr=subprocess.STDOUT)
    return _wait_for(Server(process=process, port=port, log=log))
