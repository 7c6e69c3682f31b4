"""Measure what writing the event log in commit order costs on PostgreSQL (issue 11, item 2).

    .venv/bin/python bench/eventlog.py                      # about 5 minutes
    .venv/bin/python bench/eventlog.py --seconds 3 --writers 1 8

Starts throwaway PostgreSQL 15 servers (durable: fsync and synchronous commit on, as in
production; and the test suite's fsync=off), and for each number of writer processes runs
write transactions for ``--seconds``, twice: with the event log's advisory lock (the hub as it
is) and without it (the listener removed: how the hub wrote before). Each transaction is a small
note-like write: it updates a row of its own, records one event and commits. A reader polls the
log meanwhile as the worker does (``id > cursor``) and counts events it would have skipped: ids
that appear below its cursor after it moved past them.
"""
from __future__ import annotations

import argparse
import multiprocessing
import os
import platform
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from hub import create_app, events  # noqa: E402
from hub.extensions import db  # noqa: E402
from hub.models.events import ConsumerCursor, Event  # noqa: E402
from tests.pg import start_server  # noqa: E402


def _app(url: str):
    return create_app({"ENV": "testing", "SECRET_KEY": "bench", "DATABASE_URL": url,
                       "SQLALCHEMY_DATABASE_URI": url.replace("postgresql://", "postgresql+psycopg://"),
                       "INDEX_DIR": ":memory:", "INSTANCE_PATH": "/tmp/hub-bench-eventlog"})


def _without_lock() -> None:
    sa.event.remove(Session, "before_flush", events._serialise_event_writers)


def _writer(url: str, number: int, seconds: float, locked: bool, start: float, out) -> None:
    """Write transactions until the deadline; send back the commit latencies."""
    if not locked:
        _without_lock()
    app = _app(url)
    latencies = []
    with app.app_context():
        name = f"writer-{number}"
        db.session.merge(ConsumerCursor(name=name, position=0))
        db.session.commit()
        while time.time() < start:
            time.sleep(0.001)
        n = 0
        while time.time() < start + seconds:
            began = time.perf_counter()
            row = db.session.get(ConsumerCursor, name)
            row.position = n
            events.record("bench.write", subject_type="bench", subject_id=number, n=n)
            db.session.commit()
            latencies.append(time.perf_counter() - began)
            n += 1
    out.put(latencies)


def _reader(url: str, seconds: float, start: float, out) -> None:
    """Poll the log as the worker does; count events that appear behind the cursor."""
    engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    cursor, seen, skipped = 0, set(), 0
    with engine.connect() as connection:
        while time.time() < start + seconds + 1:
            rows = connection.execute(sa.text("SELECT id FROM event WHERE id > :c ORDER BY id"), {"c": cursor}).all()
            connection.commit()
            for (event_id,) in rows:
                seen.add(event_id)
            if rows:
                cursor = rows[-1][0]
        every = {r[0] for r in connection.execute(sa.text("SELECT id FROM event"))}
    skipped = len(every - seen)
    out.put(skipped)


def run(url: str, writers: int, seconds: float, locked: bool) -> dict:
    """Run one configuration on an emptied log; return its figures."""
    app = _app(url)
    with app.app_context():
        db.drop_all()
        db.create_all()
    context = multiprocessing.get_context("fork")
    out, reader_out = context.Queue(), context.Queue()
    start = time.time() + 2.0  # every process connected and ready before the clock starts
    processes = [context.Process(target=_writer, args=(url, i, seconds, locked, start, out)) for i in range(writers)]
    reader = context.Process(target=_reader, args=(url, seconds, start, reader_out))
    for process in [*processes, reader]:
        process.start()
    latencies = [latency for _ in processes for latency in out.get()]
    skipped = reader_out.get()
    for process in [*processes, reader]:
        process.join()
    latencies.sort()
    return {"tx_s": len(latencies) / seconds, "p50": statistics.median(latencies) * 1000,
            "p95": latencies[int(len(latencies) * 0.95)] * 1000, "skipped": skipped}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--writers", type=int, nargs="+", default=[1, 4, 16])
    parser.add_argument("--repeat", type=int, default=3, help="runs of each configuration, interleaved; medians shown")
    args = parser.parse_args()
    print(f"# {platform.node()}: {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"load average {', '.join(f'{x:.1f}' for x in os.getloadavg())}")
    print("| server | writers | event log lock | transactions/s | p50 ms | p95 ms | events a reader skipped (all runs) |")
    print("|---|---:|---|---:|---:|---:|---:|")
    for durable in (True, False):
        server = start_server(durable=durable)
        try:
            url = server.create_database("bench")
            for writers in args.writers:
                runs = {False: [], True: []}
                for _ in range(args.repeat):  # interleaved: the machine's load changes from minute to minute
                    for locked in (False, True):
                        runs[locked].append(run(url, writers, args.seconds, locked))
                for locked in (False, True):
                    figures = {key: statistics.median(r[key] for r in runs[locked]) for key in ("tx_s", "p50", "p95")}
                    figures["skipped"] = sum(r["skipped"] for r in runs[locked])
                    print(f"| {'fsync on' if durable else 'fsync off'} | {writers} | {'yes' if locked else 'no'} | "
                          f"{figures['tx_s']:.0f} | {figures['p50']:.1f} | {figures['p95']:.1f} | "
                          f"{figures['skipped']} |", flush=True)
        finally:
            server.stop()


if __name__ == "__main__":
    main()
