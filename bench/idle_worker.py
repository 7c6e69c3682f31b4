"""Measure what an idle worker costs: CPU per second of idling, and the SQL statements of one idle round.

    .venv/bin/python bench/idle_worker.py                   # about 3 minutes: SQLite and PostgreSQL
    .venv/bin/python bench/idle_worker.py --seconds 20 --poll 0.2 --backend sqlite

For each backend (a SQLite file; a database on a throwaway PostgreSQL 15 server) it makes a fresh
hub with ``flask hub init`` (no notes, no partner hubs, no mail server: nothing to do), then

1. starts ``flask hub worker`` as its own process with ``HUB_WORKER_POLL_SECONDS=--poll``, lets it
   settle for 5 seconds and reads its CPU time (user + system, /proc/<pid>/stat) before and after
   ``--seconds`` of idling: that is what one idle worker costs the machine;
2. in this process, runs ``--rounds`` worker rounds (``hub.worker.run_once``) on the same database
   after three to warm up, counting the SQL statements they send and the CPU time they take.
"""
from __future__ import annotations

import argparse
import collections
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402

from hub import create_app, worker  # noqa: E402
from hub.extensions import db  # noqa: E402
from tests.pg import start_server  # noqa: E402

TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """Return the user + system CPU time of process ``pid`` so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def environment(instance: Path, url: str, poll: float) -> dict[str, str]:
    """Return the environment of a development hub on ``url`` with its instance folder in ``instance``."""
    return {"HUB_ENV": "development", "HUB_INSTANCE_PATH": str(instance), "FLASK_APP": "wsgi",
            "HUB_DATABASE_URL": url, "HUB_WORKER_POLL_SECONDS": str(poll), "PATH": "/usr/bin:/bin",
            "PYTHONUNBUFFERED": "1"}


def worker_process(env: dict[str, str], seconds: float) -> float:
    """Run ``flask hub worker`` idle for ``seconds``; return its CPU seconds in that time."""
    process = subprocess.Popen([sys.executable, "-m", "flask", "hub", "worker"], env=env, cwd=ROOT,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        while "worker started" not in (line := process.stdout.readline()):
            if not line:
                raise SystemExit("the worker did not start")
        time.sleep(5)  # the first round (the index's rebuild) is not idling
        before = cpu_seconds(process.pid)
        time.sleep(seconds)
        return cpu_seconds(process.pid) - before
    finally:
        process.terminate()
        process.wait(30)


def rounds_in_process(env: dict[str, str], rounds: int) -> tuple[float, float, collections.Counter[str]]:
    """Run ``rounds`` idle worker rounds here; return statements per round, CPU ms per round and the statements."""
    os.environ.update(env)
    app = create_app()
    seen: collections.Counter[str] = collections.Counter()
    with app.app_context():
        for _ in range(3):
            worker.run_once(app)
            db.session.remove()
        sa.event.listen(db.engine, "before_cursor_execute",
                        lambda _c, _k, statement, *_: seen.update([" ".join(statement.split())[:110]]))
        started = time.process_time()
        for _ in range(rounds):
            worker.run_once(app)
            db.session.remove()
        cpu = time.process_time() - started
        db.engine.dispose()
    return sum(seen.values()) / rounds, 1000 * cpu / rounds, seen


def measure(backend: str, url: str, folder: Path, args: argparse.Namespace) -> dict[str, float]:
    """Measure one backend and print what it found."""
    instance = folder / backend
    env = environment(instance, url, args.poll)
    subprocess.run([sys.executable, "-m", "flask", "hub", "init"], env=env, cwd=ROOT, check=True,
                   capture_output=True)
    cpu = worker_process(env, args.seconds)
    per_round, ms, seen = rounds_in_process(env, args.rounds)
    print(f"\n{backend}: worker process idle {args.seconds:.0f} s at poll {args.poll} s: {cpu:.2f} CPU s "
          f"({100 * cpu / args.seconds:.2f} % of a core); in process: {per_round:.1f} statements and "
          f"{ms:.2f} ms CPU per idle round")
    for statement, count in seen.most_common():
        print(f"  {count / args.rounds:5.2f} per round  {statement}")
    return {"cpu": cpu, "statements": per_round, "ms": ms}


def main() -> None:
    """Run the measurements and print a table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="idle seconds per worker process")
    parser.add_argument("--poll", type=float, default=1.0, help="HUB_WORKER_POLL_SECONDS of the worker process")
    parser.add_argument("--rounds", type=int, default=300, help="idle rounds counted in this process")
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], nargs="*", default=["sqlite", "postgresql"])
    args = parser.parse_args()
    print(f"Python {platform.python_version()}, {os.cpu_count()} cores, load {os.getloadavg()}")
    folder = Path(tempfile.mkdtemp(prefix="hub-bench-idle-"))
    results = {}
    server = None
    try:
        for backend in args.backend:
            if backend == "sqlite":
                url = f"sqlite:///{folder / 'hub.sqlite'}"
            else:
                server = start_server()
                url = server.create_database("idle")
            results[backend] = measure(backend, url, folder, args)
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(folder, ignore_errors=True)
    print(f"\n| backend | idle CPU % of a core (poll {args.poll} s) | statements per idle round | CPU ms per idle round |")
    print("|---|---:|---:|---:|")
    for backend, found in results.items():
        print(f"| {backend} | {100 * found['cpu'] / args.seconds:.2f} | {found['statements']:.1f} | {found['ms']:.2f} |")


if __name__ == "__main__":
    main()
