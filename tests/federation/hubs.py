"""Real hubs in separate processes for federation tests: each with its own port, instance dir and SQLite file.

Each hub runs ``flask hub serve`` (the web server plus its worker) on 127.0.0.1. The test reaches
each hub's database through an app of its own pointing at the same files (same instance key),
to create people and notes with the services and to check what arrived.
"""
from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from flask import Flask

from hub import create_app
from hub.extensions import db
from hub.models.user import Role
from hub.services import accounts, vocabulary

from tests import spawn

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "long enough password"


def free_port() -> int:
    """Return a TCP port that is free on 127.0.0.1 right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Hub:
    """One hub: its settings, its server process, and a test-side app on the same database."""

    def __init__(self, root: Path, name: str, **settings: Any) -> None:
        self.name = name
        self.dir = root / name
        self.dir.mkdir(parents=True)
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.settings = {
            "ENV": "development", "BASE_URL": self.base, "DATABASE_URL": f"sqlite:///{self.dir / 'hub.sqlite'}",
            "INDEX_DIR": "index", "WORKER_POLL_SECONDS": 0.2, "FEDERATION_ALLOW_LOOPBACK": True,
            "FEDERATION_RETRY_BASE_SECONDS": 0.5, "SITE_NAME": f"Hub {name}", **settings,
        }
        self.env = {"PATH": os.environ.get("PATH", ""), "FLASK_APP": "wsgi", "HUB_INSTANCE_PATH": str(self.dir),
                    "PYTHONPATH": str(ROOT)}
        for key, value in self.settings.items():
            self.env[f"HUB_{key}"] = "true" if value is True else str(value)
        self.process: subprocess.Popen | None = None
        self._app: Flask | None = None
        self.log = self.dir / "server.log"

    # --- processes ------------------------------------------------------------------------

    def init_command(self) -> subprocess.Popen:
        """Start ``flask hub init`` (the caller waits)."""
        return spawn.popen([sys.executable, "-m", "flask", "hub", "init"], cwd=ROOT, env=self.env,
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def start(self, timeout: float = 40) -> None:
        """Start the web server and its worker, and wait until the actor answers."""
        log = open(self.log, "ab")
        self.process = spawn.popen(
            [sys.executable, "-m", "flask", "hub", "serve", "--host", "127.0.0.1", "--port", str(self.port)],
            cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"hub {self.name} exited:\n{self.log.read_text()[-3000:]}")
            with contextlib.suppress(OSError):
                with urllib.request.urlopen(self.base + "/actor", timeout=1) as response:
                    if response.status == 200:
                        return
            time.sleep(0.1)
        raise AssertionError(f"hub {self.name} did not start:\n{self.log.read_text()[-3000:]}")

    def stop(self) -> None:
        """Stop the server and its worker (Ctrl-C), killing them if they hang."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=5)
        self.process = None

    # --- the test's view of the hub's database --------------------------------------------

    @property
    def app(self) -> Flask:
        """Return an app on this hub's files (database, instance key)."""
        if self._app is None:
            self._app = create_app({**self.settings, "INSTANCE_PATH": str(self.dir)})
        return self._app

    @contextlib.contextmanager
    def context(self) -> Iterator[None]:
        """Run the block inside this hub's app context, with a fresh session."""
        with self.app.app_context():
            try:
                yield
            finally:
                db.session.remove()

    def call(self, function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Call ``function`` inside this hub's app context."""
        with self.context():
            return function(*args, **kwargs)

    def seed_people(self) -> None:
        """Create the admin, moderator and contributor of this hub."""
        with self.context():
            vocabulary.seed()
            for username, role in (("admin", Role.ADMIN), ("moder", Role.MODERATOR), ("writer", Role.CONTRIBUTOR)):
                accounts.create_user(accounts.NewAccount(username, f"{self.name}-{username}", PASSWORD), role=role)
            db.session.commit()

    def user(self, username: str):
        """Return one of the seeded people (inside a context)."""
        from hub.models.user import User
        import sqlalchemy as sa

        return db.session.scalar(sa.select(User).where(User.username == username))


def wait_for(check: Callable[[], Any], *, timeout: float = 20, what: str = "condition", hubs: list[Hub] = ()) -> Any:
    """Poll ``check`` until it returns something truthy; fail with the hubs' logs otherwise."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.2)
    logs = "\n".join(f"--- {h.name} ---\n{h.log.read_text()[-4000:]}" for h in hubs if h.log.exists())
    raise AssertionError(f"timed out waiting for {what}\n{logs}")


def we_follow(hub: Hub, other: Hub) -> str | None:
    """Return the state of ``hub``'s follow of ``other``."""
    import sqlalchemy as sa

    from hub.models.federation import PeerHub

    with hub.context():
        return db.session.scalar(sa.select(PeerHub.we_follow).where(PeerHub.base_url == other.base))


def publish(hub: Hub, title: str, visibility: str = "public", body: str = "同伴外展的经验。",
            topics: tuple[str, ...] = (), summary: str | None = None) -> int:
    """Write, submit and approve a note on ``hub`` (in English); return its id."""
    import sqlalchemy as sa

    from hub.models.note import Term
    from hub.services import notes

    with hub.context():
        term_ids = list(db.session.scalars(sa.select(Term.id).where(Term.slug.in_(topics)))) if topics else []
        data = notes.NoteInput(title=title, summary=summary or "Summary of " + title, body=body, language="en",
                               visibility=visibility, place="Kunming", term_ids=term_ids)
        note = notes.create_draft(author=hub.user("writer"), data=data)
        notes.submit(note, by=hub.user("writer"), confirm_privacy=True)
        notes.approve(note, by=hub.user("moder"))
        return note.id


def copy_of(hub: Hub, origin: Hub, note_id: int) -> dict | None:
    """Return what ``hub`` holds of ``origin``'s note, or None."""
    import sqlalchemy as sa

    from hub.models.note import Note

    with hub.context():
        note = db.session.scalar(sa.select(Note).where(Note.remote_id == f"{origin.base}/ap/notes/{note_id}"))
        if note is None:
            return None
        return {"id": note.id, "state": note.state, "title": note.title, "visibility": note.visibility,
                "summary": note.summary, "body": note.body, "html": note.body_html, "author": note.author_id}
