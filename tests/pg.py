"""A throwaway PostgreSQL 15 server for the test session, in a temporary directory.

``make test`` installs the server with apt when it is missing; this module starts it on a
free port, hands out a URL, and stops it and deletes its files at the end. PostgreSQL
refuses to run as root, so as root the server runs as the ``postgres`` system user.
"""
from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass

from tests import spawn


class PostgresUnavailable(RuntimeError):
    """The PostgreSQL server binaries are not installed."""


def _bindir() -> str:
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), reverse=True)
    if not candidates:
        raise PostgresUnavailable(
            "PostgreSQL server binaries not found (/usr/lib/postgresql/*/bin). "
            "Run `make test`, which installs the Debian package 'postgresql', or install it yourself."
        )
    return os.path.dirname(candidates[0])


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class PostgresServer:
    """A running throwaway server."""

    directory: str
    port: int
    bindir: str
    durable: bool = False  # fsync and synchronous commit on, as in production (benchmarks)

    @property
    def url(self) -> str:
        """Return the URL of the server's default database."""
        return f"postgresql://hub@127.0.0.1:{self.port}/postgres"

    def create_database(self, name: str) -> str:
        """Create an empty database ``name`` (dropping one left over) and return its URL."""
        self.drop_database(name)
        self._admin(f'CREATE DATABASE "{name}"')
        return self.url.rsplit("/", 1)[0] + "/" + name

    def drop_database(self, name: str) -> None:
        """Drop database ``name``, closing its connections first (nothing happens when it is missing)."""
        self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def _admin(self, statement: str) -> None:
        import psycopg

        with psycopg.connect(self.url, autocommit=True) as connection:
            connection.execute(statement)

    def _run(self, command: list[str], *, check: bool = True) -> None:
        if os.geteuid() == 0:
            command = ["su", "postgres", "-s", "/bin/sh", "-c", " ".join(map(_quote, command))]
        spawn.run(command, check=check, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def start(self) -> None:
        """Initialise the cluster and start the server, waiting until it accepts connections."""
        self._run([f"{self.bindir}/initdb", "-D", self._data, "-A", "trust", "-U", "hub", "-E", "UTF8",
                   "--locale=C.UTF-8"])
        self.resume()

    def halt(self) -> None:
        """Stop the server as an outage would, keeping its data (:meth:`resume` starts it again)."""
        self._run([f"{self.bindir}/pg_ctl", "-D", self._data, "-m", "fast", "-w", "stop"])

    def resume(self) -> None:
        """Start the server on its data and port, waiting until it accepts connections."""
        options = f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1"
        if not self.durable:
            options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        self._run([f"{self.bindir}/pg_ctl", "-D", self._data, "-o", options,
                   "-l", os.path.join(self.directory, "log"), "-w", "start"])

    @property
    def _data(self) -> str:
        return os.path.join(self.directory, "data")

    def stop(self) -> None:
        """Stop the server (unless a test left it halted) and delete its files."""
        try:
            self._run([f"{self.bindir}/pg_ctl", "-D", self._data, "-m", "immediate", "-w", "stop"], check=False)
        finally:
            shutil.rmtree(self.directory, ignore_errors=True)


def _quote(arg: str) -> str:
    return "'" + arg.replace("'", "'\\''") + "'"


def start_server(*, durable: bool = False) -> PostgresServer:
    """Start a server in a new temporary directory and return it (``durable``: fsync on)."""
    bindir = _bindir()
    directory = tempfile.mkdtemp(prefix="hub-pg-")
    spawn.remove_at_end(directory)  # when pytest is killed before the fixture's stop()
    if os.geteuid() == 0:
        shutil.chown(directory, "postgres")
    server = PostgresServer(directory=directory, port=_free_port(), bindir=bindir, durable=durable)
    server.start()
    return server
