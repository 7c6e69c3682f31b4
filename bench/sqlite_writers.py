"""Write to one SQLite hub from several processes at once, and count what went wrong.

    .venv/bin/python bench/sqlite_writers.py                       # about 40 s
    .venv/bin/python bench/sqlite_writers.py --seconds 20 --clients 16 --gunicorn-workers 3

SQLite is the hub's default database, and even the smallest hub writes from several processes:
``make run`` runs the worker beside the web server, and an operator may run gunicorn with several
processes on SQLite. This bench:

1. prepares a hub on a SQLite file as ``make run`` does (``flask hub init``, ``demo``, ``reindex``);
2. starts gunicorn with the production settings (``-c python:hub.gunicorn_conf``, ``--gunicorn-workers``
   processes of 4 threads) and the worker as a process of its own (``flask hub worker``, polling every
   0.2 s: it indexes every comment and draft, writes its heartbeat and claims);
3. runs ``--clients`` client processes for ``--seconds`` seconds, each signed in as a demo account:
   members and moderators post comments on published notes (each text new, so none is taken for a
   form sent twice); contributors autosave a draft of their own and post comments; every fourth
   client sends each comment twice at once, from two threads (a double tap on a slow phone);
4. prints the requests per second, the answers by status, the requests the server answered 503
   because the database was locked, the worker's ``database is locked`` errors, and the lost writes: comments answered with a redirect (saved) that the database lacks,
   and comments saved twice from one double tap.

The machine is shared: the load average is printed with the figures.
"""
from __future__ import annotations

import argparse
import collections
import multiprocessing
import os
import re
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.stack import start_gunicorn  # noqa: E402

DEMO_PASSWORD = "demo-pass-2026"
ACCOUNTS = ("partner", "moderator", "peer", "outreach", "admin")
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def log(message: str) -> None:
    """Print a progress line on stderr."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def hub_env(instance: Path) -> dict[str, str]:
    """Return the environment of a development hub on a SQLite file in ``instance``."""
    return {"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin", "FLASK_APP": "wsgi", "PYTHONUNBUFFERED": "1",
            "HUB_ENV": "development", "HUB_INSTANCE_PATH": str(instance),
            "HUB_DATABASE_URL": f"sqlite:///{instance / 'hub.sqlite'}", "HUB_BASE_URL": "http://127.0.0.1",
            "HUB_WORKER_POLL_SECONDS": "0.2"}


def flask(env: dict[str, str], *args: str) -> None:
    """Run ``flask <args>`` in the checkout, failing loudly."""
    subprocess.run([sys.executable, "-m", "flask", *args], env=env, cwd=ROOT, check=True, capture_output=True)


def published_notes(database: Path) -> list[int]:
    """Return the ids of the published notes."""
    with sqlite3.connect(database) as connection:
        return [row[0] for row in connection.execute("SELECT id FROM note WHERE state = 'published'")]


def sign_in(base: str, username: str):
    """Return a requests session signed in as ``username``."""
    import requests

    session = requests.Session()
    for _ in range(20):  # a refused sign-in (503) is tried again, as a person would
        token = CSRF.search(session.get(base + "/login").text).group(1)
        answer = session.post(base + "/login", data={"csrf_token": token, "login": username,
                                                     "password": DEMO_PASSWORD}, allow_redirects=False)
        session.refused_sign_ins = getattr(session, "refused_sign_ins", 0) + (answer.status_code != 302)
        if answer.status_code == 302:
            return session
        time.sleep(0.5)
    raise SystemExit(f"{username} could not sign in: {answer.status_code}")


def client(number: int, base: str, notes: list[int], seconds: float, results) -> None:
    """Sign in and write until the time is up; put (statuses, saved texts, double-tapped texts, 0) on ``results``."""
    username = ACCOUNTS[number % len(ACCOUNTS)]
    session = sign_in(base, username)
    token = CSRF.search(session.get(f"{base}/notes/{notes[0]}").text).group(1)
    contributor = username in ("peer", "outreach", "admin", "moderator")
    statuses: collections.Counter[str] = collections.Counter({"sign-in refused": session.refused_sign_ins})
    saved, tapped = [], []
    draft = None
    deadline = time.monotonic() + seconds
    turn = 0
    while time.monotonic() < deadline:
        turn += 1
        note = notes[turn % len(notes)]
        text = f"client {number} turn {turn}: we tried this at our centre too."
        form = {"csrf_token": token, "body": text}
        if number % 4 == 3:  # a double tap: the same form twice at once
            answers = [None, None]

            def send(i: int) -> None:
                answers[i] = session.post(f"{base}/notes/{note}/comments", data=form, allow_redirects=False)
            threads = [threading.Thread(target=send, args=(i,)) for i in range(2)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            for answer in answers:
                statuses[f"comment {answer.status_code}"] += 1
            if all(a.status_code == 302 for a in answers):
                tapped.append(text)
        else:
            answer = session.post(f"{base}/notes/{note}/comments", data=form, allow_redirects=False)
            statuses[f"comment {answer.status_code}"] += 1
            if answer.status_code == 302:
                saved.append(text)
        if contributor:
            data = {"csrf_token": token, "title": f"Draft of client {number}", "language": "en",
                    "visibility": "members", "body": f"Written on a phone, turn {turn}.", "summary": ""}
            if draft:
                data["note_id"] = str(draft)
            answer = session.post(f"{base}/notes/autosave", data=data)
            statuses[f"autosave {answer.status_code}"] += 1
            if answer.status_code == 200:
                draft = answer.json()["id"]
    results.put((statuses, saved, tapped, 0.0))


def reader(number: int, base: str, notes: list[int], seconds: float, results) -> None:
    """Read note pages and search while the others write; put (statuses, [], [], slowest) on ``results``."""
    session = sign_in(base, "partner")
    statuses: collections.Counter[str] = collections.Counter({"sign-in refused": session.refused_sign_ins})
    deadline = time.monotonic() + seconds
    turn, slowest = 0, 0.0
    while time.monotonic() < deadline:
        turn += 1
        path = f"/notes/{notes[turn % len(notes)]}" if turn % 2 else "/search?q=%E7%BE%8E%E6%B2%99%E9%85%AE"
        started = time.monotonic()
        status = session.get(base + path).status_code
        statuses[f"read {status}"] += 1
        slowest = max(slowest, time.monotonic() - started)
    results.put((statuses, [], [], slowest))


def long_reader(database: Path, seconds: float, hold: float, stop) -> None:
    """Hold a read transaction ``hold`` seconds at a time, as an export or a report over a large hub does."""
    connection = sqlite3.connect(database, isolation_level=None)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and not stop.is_set():
        connection.execute("BEGIN")
        connection.execute("SELECT count(*) FROM note").fetchall()
        stop.wait(min(hold, max(0.0, deadline - time.monotonic())))
        connection.execute("COMMIT")
        stop.wait(1.0)
    connection.close()


def main() -> None:
    """Run the bench and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--clients", type=int, default=12)
    parser.add_argument("--readers", type=int, default=4)
    parser.add_argument("--gunicorn-workers", type=int, default=3)
    parser.add_argument("--long-read", type=float, default=0, metavar="SECONDS",
                        help="also hold a read transaction this long, every second, as a long export would")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="hub-sqlite-bench-") as work:
        instance = Path(work) / "instance"
        instance.mkdir()
        env = hub_env(instance)
        log("preparing the hub (init, demo, reindex)")
        for command in (["hub", "init"], ["hub", "demo"], ["hub", "reindex"]):
            flask(env, *command)
        database = instance / "hub.sqlite"
        with sqlite3.connect(database) as connection:
            mode = connection.execute("PRAGMA journal_mode").fetchone()[0]
        notes = published_notes(database)
        server = start_gunicorn(env, Path(work) / "gunicorn.log", workers=args.gunicorn_workers)
        worker_log = (Path(work) / "worker.log").open("w")
        worker = subprocess.Popen([sys.executable, "-m", "flask", "hub", "worker"], env=env, cwd=ROOT,
                                  stdout=worker_log, stderr=subprocess.STDOUT)
        try:
            results = multiprocessing.Queue()
            processes = [multiprocessing.Process(target=client, args=(n, server.url, notes, args.seconds, results))
                         for n in range(args.clients)]
            processes += [multiprocessing.Process(target=reader, args=(n, server.url, notes, args.seconds, results))
                          for n in range(args.readers)]
            log(f"{args.clients} clients writing for {args.seconds:.0f} s; journal mode {mode}")
            stop = multiprocessing.Event()
            if args.long_read:
                processes.append(multiprocessing.Process(target=long_reader,
                                                         args=(database, args.seconds, args.long_read, stop)))
            started = time.monotonic()
            for process in processes:
                process.start()
            gathered = [results.get(timeout=args.seconds + 120) for _ in range(args.clients + args.readers)]
            elapsed = time.monotonic() - started
            stop.set()
            for process in processes:
                process.join()
            time.sleep(1.0)  # the worker's last round
        finally:
            server.stop()
            worker.terminate()
            worker.wait(timeout=30)
            worker_log.close()
        statuses = sum((g[0] for g in gathered), collections.Counter())
        saved = [text for g in gathered for text in g[1]]
        tapped = [text for g in gathered for text in g[2]]
        slowest_read = max((g[3] for g in gathered), default=0.0)
        with sqlite3.connect(database) as connection:
            stored = collections.Counter(row[0] for row in connection.execute("SELECT body FROM comment"))
        lost = sum(1 for text in saved if stored[text] == 0)
        twice = sum(1 for text in tapped if stored[text] > 1)
        locked_server = server.output().count("answered 503")
        locked_worker = (Path(work) / "worker.log").read_text().count("database is locked")
        requests_sent = sum(statuses.values()) - statuses["sign-in refused"]
        print(f"journal mode: {mode}; gunicorn {args.gunicorn_workers} x 4 threads, worker process, "
              f"{args.clients} writing clients, {args.readers} reading, long reads of {args.long_read:.0f} s, "
              f"{elapsed:.1f} s; load average {os.getloadavg()[0]:.1f}")
        print(f"requests: {requests_sent} ({requests_sent / elapsed:.1f}/s)")
        for key, value in sorted(statuses.items()):
            print(f"  {key}: {value}")
        print(f"slowest read: {slowest_read:.1f} s")
        print(f"requests answered 503 (database locked) in the server log: {locked_server}; "
              f"'database is locked' in the worker log: {locked_worker}")
        print(f"comments answered as saved but missing: {lost} of {len(saved)}")
        print(f"double taps saved twice: {twice} of {len(tapped)}")


if __name__ == "__main__":
    main()
