"""Soak: searches and note pages from several processes while the worker commits and merges, for minutes.

Run from the project root::

    .venv/bin/python bench/search_soak.py --minutes 5                      # the suite's PostgreSQL setup
    .venv/bin/python bench/search_soak.py --minutes 5 --database sqlite

The same scenario as tests/functional/test_search_under_writes.py (tests/concurrent_search.py),
longer: gunicorn with ``--web`` worker processes answers ``--clients`` client threads (the JSON
search API, the search page and note pages with their similar notes) while this process
publishes a note or edits one every ``--write-every`` seconds and ``flask hub worker`` commits them
to the index. It prints requests, answers by status, errors (answers >= 500, failed connections,
tracebacks in the servers' log), latencies, index commits and merges, and whether the index held
every published note at the end. Exit status 1 when anything failed.
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.append(str(ROOT))


def percentile(values: list[float], q: float) -> float:
    """Return the ``q`` quantile of ``values`` (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))] if ordered else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument("--database", choices=["postgresql", "sqlite"], default="postgresql")
    parser.add_argument("--web", type=int, default=3, help="gunicorn worker processes (default 3)")
    parser.add_argument("--clients", type=int, default=6, help="client threads (default 6)")
    parser.add_argument("--write-every", type=float, default=0.04, help="seconds between writes (default 0.04)")
    args = parser.parse_args()

    from hub import create_app
    from hub.config import TestConfig
    from hub.extensions import db
    from tests import concurrent_search

    folder = Path(tempfile.mkdtemp(prefix="hub-soak-"))
    server = None
    if args.database == "postgresql":
        from tests.pg import start_server

        server = start_server()
        url = server.url
    else:
        url = f"sqlite:///{folder / 'hub.sqlite'}"
    env = concurrent_search.environment(folder / "instance", url)
    config = {k: getattr(TestConfig, k) for k in dir(TestConfig) if k.isupper()}
    config.update(DATABASE_URL=url, INDEX_DIR="index", INSTANCE_PATH=str(folder / "instance"))
    from hub.config import _database_uri

    config["SQLALCHEMY_DATABASE_URI"] = _database_uri(url)
    app = create_app(config)
    load = os.getloadavg()
    started = dt.datetime.now()
    try:
        with app.app_context():
            db.create_all()
            report = concurrent_search.run(app, env, seconds=args.minutes * 60, web_processes=args.web,
                                           clients=args.clients, write_every=args.write_every,
                                           log=lambda message: print(f"[{time.strftime('%H:%M:%S')}] {message}",
                                                                     flush=True))
            db.session.remove()
            db.engine.dispose()
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(folder, ignore_errors=True)
    end_load = os.getloadavg()

    print(f"\nsearch soak, {args.database}, {started:%Y-%m-%d %H:%M}, {report.seconds:.0f} s, gunicorn -w {args.web}, "
          f"{args.clients} clients, a write every {args.write_every} s; load {load[0]:.1f} → {end_load[0]:.1f}")
    print(f"requests {report.requests}, answers >= 500 or failed connections {len(report.errors)}, tracebacks in "
          f"the servers' log {len(report.tracebacks)}; notes published {report.published}, "
          f"edited {report.edited}; index commits seen {report.generations}, merges seen {report.merges}; "
          f"found at the end {report.indexed_at_end} of {report.published}")
    for (kind, status), count in sorted(report.statuses.items(), key=str):
        print(f"  {kind:12} {status!s:>16} {count:7}")
    for kind, values in sorted(report.latencies.items()):
        p50, p95 = percentile(values, 0.5) * 1000, percentile(values, 0.95) * 1000
        print(f"  {kind:12} p50 {p50:7.1f} ms  p95 {p95:7.1f} ms")
    for error in report.errors[:10] + report.tracebacks[:10]:
        print("  error:", error)
    sys.exit(1 if report.errors or report.tracebacks or report.indexed_at_end != report.published else 0)


if __name__ == "__main__":
    main()
